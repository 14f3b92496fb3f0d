//! Block ids and record codes from LLVM's `LLVMBitCodes.h` that bcrename
//! reads. Only what carries names or positions is listed.

pub mod block {
    pub const MODULE: u32 = 8;
    pub const PARAMATTR: u32 = 9;
    pub const PARAMATTR_GROUP: u32 = 10;
    pub const CONSTANTS: u32 = 11;
    pub const FUNCTION: u32 = 12;
    pub const IDENTIFICATION: u32 = 13;
    pub const VALUE_SYMTAB: u32 = 14;
    pub const METADATA: u32 = 15;
    pub const METADATA_ATTACHMENT: u32 = 16;
    pub const TYPE: u32 = 17;
    pub const USELIST: u32 = 18;
    pub const MODULE_STRTAB: u32 = 19;
    pub const GLOBALVAL_SUMMARY: u32 = 20;
    pub const OPERAND_BUNDLE_TAGS: u32 = 21;
    pub const METADATA_KIND: u32 = 22;
    pub const STRTAB: u32 = 23;
    pub const FULL_LTO_GLOBALVAL_SUMMARY: u32 = 24;
    pub const SYMTAB: u32 = 25;
    pub const SYNC_SCOPE_NAMES: u32 = 26;
}

/// The name of a block id, for messages and dumps.
pub fn block_name(id: u32) -> Option<&'static str> {
    use block::*;
    Some(match id {
        0 => "BLOCKINFO",
        MODULE => "MODULE_BLOCK",
        PARAMATTR => "PARAMATTR_BLOCK",
        PARAMATTR_GROUP => "PARAMATTR_GROUP_BLOCK",
        CONSTANTS => "CONSTANTS_BLOCK",
        FUNCTION => "FUNCTION_BLOCK",
        IDENTIFICATION => "IDENTIFICATION_BLOCK",
        VALUE_SYMTAB => "VALUE_SYMTAB",
        METADATA => "METADATA_BLOCK",
        METADATA_ATTACHMENT => "METADATA_ATTACHMENT",
        TYPE => "TYPE_BLOCK",
        USELIST => "USELIST_BLOCK",
        MODULE_STRTAB => "MODULE_STRTAB_BLOCK",
        GLOBALVAL_SUMMARY => "GLOBALVAL_SUMMARY_BLOCK",
        OPERAND_BUNDLE_TAGS => "OPERAND_BUNDLE_TAGS_BLOCK",
        METADATA_KIND => "METADATA_KIND_BLOCK",
        STRTAB => "STRTAB_BLOCK",
        FULL_LTO_GLOBALVAL_SUMMARY => "FULL_LTO_GLOBALVAL_SUMMARY_BLOCK",
        SYMTAB => "SYMTAB_BLOCK",
        SYNC_SCOPE_NAMES => "SYNC_SCOPE_NAMES_BLOCK",
        _ => return None,
    })
}

/// IDENTIFICATION_BLOCK records.
pub mod identification {
    pub const STRING: u32 = 1;
    pub const EPOCH: u32 = 2;
}

/// MODULE_BLOCK records.
pub mod module {
    pub const VERSION: u32 = 1;
    pub const TRIPLE: u32 = 2;
    pub const ASM: u32 = 4;
    pub const GLOBALVAR: u32 = 7;
    pub const FUNCTION: u32 = 8;
    pub const COMDAT: u32 = 12;
    pub const VSTOFFSET: u32 = 13;
    pub const ALIAS: u32 = 14;
    pub const SOURCE_FILENAME: u32 = 16;
    pub const HASH: u32 = 17;
    pub const IFUNC: u32 = 18;
}

/// CONSTANTS_BLOCK records that hold inline asm text.
pub mod constants {
    pub const INLINEASM_OLD: u32 = 18;
    pub const INLINEASM_OLD2: u32 = 23;
    pub const INLINEASM_OLD3: u32 = 28;
    pub const INLINEASM: u32 = 30;
}

/// VALUE_SYMTAB records.
pub mod vst {
    pub const ENTRY: u32 = 1;
    pub const BBENTRY: u32 = 2;
    pub const FNENTRY: u32 = 3;
}

/// MODULE_STRTAB_BLOCK records (ThinLTO indexes).
pub mod module_strtab {
    pub const ENTRY: u32 = 1;
    pub const HASH: u32 = 2;
}

/// STRTAB_BLOCK and SYMTAB_BLOCK records.
pub const BLOB: u32 = 1;

//! Determinism under variation (issue 6): the same rename gives the same
//! bytes whatever the locale, time zone, umask, current directory, input
//! order and number of jobs.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

#[test]
fn same_bytes_under_locale_time_zone_umask_cwd_order_and_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = testdata().join("clang-19/prog/distributed");
    let files: Vec<_> = backends_under(&dist)
        .into_iter()
        // Files given one by one land under --out-dir by file name:
        // leave out b/helper.bc, which has a/helper.bc's.
        .filter(|p| !p.to_string_lossy().contains("/b/"))
        .collect();
    let rels = copy_set(&dist, &files, &d.join("in"));
    let deeper = d.join("elsewhere/deeper");
    std::fs::create_dir_all(&deeper).unwrap();
    let input = d.join("in");
    // (name, environment, current directory, reversed input order, jobs)
    type Variation<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a Path, bool, &'a str);
    let variations: Vec<Variation> = vec![
        ("plain", vec![], d, false, "1"),
        (
            "locale",
            vec![("LC_ALL", "tr_TR.UTF-8"), ("LANG", "de_DE.UTF-8")],
            d,
            false,
            "2",
        ),
        (
            "time-zone",
            vec![("TZ", "Pacific/Kiritimati")],
            d,
            true,
            "3",
        ),
        ("cwd", vec![], &deeper, false, "4"),
        ("reversed", vec![("TZ", "UTC")], d, true, "1"),
    ];
    let mut first: Option<BTreeMap<PathBuf, Vec<u8>>> = None;
    for (i, (name, env, cwd, reverse, jobs)) in variations.into_iter().enumerate() {
        let out = d.join(format!("out{i}"));
        // Inputs listed file by file through a response file, in order or reversed.
        let mut list: Vec<String> = rels
            .iter()
            .map(|r| input.join(r).to_string_lossy().into_owned())
            .collect();
        list.sort();
        if reverse {
            list.reverse();
        }
        let rsp = d.join(format!("list{i}.rsp"));
        std::fs::write(&rsp, list.join("\n")).unwrap();
        // umask is per process: run through sh to set it.
        let script = format!(
            "umask {}; exec \"$0\" rename --policy source-filename --keep-unresolved --jobs {jobs} --out-dir {} --map-out {}.json @{}",
            if i % 2 == 0 { "022" } else { "077" },
            out.display(),
            out.display(),
            rsp.display()
        );
        let st = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_bcrename"))
            .current_dir(cwd)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        ok(&st);
        let got = dir_bytes(&out);
        let map = std::fs::read(format!("{}.json", out.display())).unwrap();
        match &first {
            None => {
                assert!(
                    String::from_utf8_lossy(&map).matches("\"old\"").count() >= 10,
                    "too little was renamed"
                );
                first = Some(
                    got.into_iter()
                        .chain([(PathBuf::from("map"), map)])
                        .collect(),
                );
            }
            Some(f) => {
                let got: BTreeMap<_, _> = got
                    .into_iter()
                    .chain([(PathBuf::from("map"), map)])
                    .collect();
                assert!(*f == got, "{name}: output differs");
            }
        }
    }
}

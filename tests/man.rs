//! The man pages in `man/` are generated from the clap definition; this test
//! fails when they are stale. `BLESS=1 cargo test --test man` rewrites them.

use std::path::Path;

fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = bcrename::cli::command();
    let mut out = Vec::new();
    let mut render = |name: String, cmd: clap::Command| {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf).unwrap();
        out.push((format!("{name}.1"), buf));
    };
    render("bcrename".into(), cmd.clone());
    for sub in cmd.get_subcommands() {
        let name = format!("bcrename-{}", sub.get_name());
        render(
            name.clone(),
            sub.clone().name(name).version(env!("CARGO_PKG_VERSION")),
        );
    }
    out
}

#[test]
fn man_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let bless = std::env::var_os("BLESS").is_some();
    for (name, content) in pages() {
        let path = dir.join(&name);
        if bless {
            std::fs::write(&path, &content).unwrap();
            continue;
        }
        let current = std::fs::read(&path).unwrap_or_default();
        assert!(
            current == content,
            "man/{name} is stale: run `BLESS=1 cargo test --test man`"
        );
    }
    let mut on_disk: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut expected: Vec<_> = pages().into_iter().map(|(n, _)| n).collect();
    expected.sort();
    assert_eq!(
        on_disk, expected,
        "man/ holds pages the command line does not define"
    );
}

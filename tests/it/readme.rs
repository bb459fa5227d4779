//! The README's "In your service" quotes `examples/service.rs` whole: the two stay identical (the
//! example is built and run by CI, `scripts/readme-service.sh`).

#[test]
fn the_readme_quotes_the_service_example_whole() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/examples/service.rs"))
        .expect("examples/service.rs");
    let section = readme
        .split("## In your service\n")
        .nth(1)
        .expect("the README has an \"In your service\" section");
    let quoted = section
        .split("```rust,no_run\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n").next())
        .expect("the section quotes a rust,no_run block");
    assert_eq!(
        quoted, example,
        "README.md's \"In your service\" block differs from examples/service.rs"
    );
    // Short enough to read in one screen: the newcomer's hand-written service was 226 lines.
    assert!(
        example.lines().count() <= 100,
        "{} lines",
        example.lines().count()
    );
}

//! The builder's mandatory choices are enforced at compile time.

#[test]
fn builder_without_a_mandatory_choice_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
    t.pass("tests/compile_pass/*.rs");
}

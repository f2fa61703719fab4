fn main() {
    // Debug info gives every element its id at run time, which the headless screen tests
    // (i-slint-backend-testing) look elements up by. It costs a few kilobytes.
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    if let Err(error) = slint_build::compile_with_config("ui/main.slint", config) {
        eprintln!("{error}");
        std::process::exit(1);
    }
}

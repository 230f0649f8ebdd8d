fn main() -> std::process::ExitCode {
    hashforge::app::main()
}

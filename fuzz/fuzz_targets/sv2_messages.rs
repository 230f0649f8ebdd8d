#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hashforge_fuzz::sv2_messages::run(data));

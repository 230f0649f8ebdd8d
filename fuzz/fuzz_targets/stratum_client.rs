#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hashforge_fuzz::stratum_client::run(data));

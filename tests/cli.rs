//! The `hashforge` binary: outputs of `hash`, `scan` and `bench`, and one-line errors on bad input.

mod common;

use common::Exit;

/// Runs the binary with `args`; fails unless it exited with status 0.
fn hashforge(args: &[&str]) -> Exit {
    common::hashforge().success(args)
}

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// Fails unless the command exited with status 2 and exactly one line on stderr, which
/// contains `needle`.
fn assert_one_line_error(args: &[&str], needle: &str) {
    common::hashforge().one_line_error(args, needle);
}

#[test]
fn hash_prints_display_order_and_difficulty() {
    let text = hashforge(&["hash", GENESIS]).stdout;
    assert!(
        text.starts_with("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f\n"),
        "{text}"
    );
    assert!(text.contains("difficulty 2536.426"), "{text}");
}

#[test]
fn scan_finds_genesis_nonce_with_every_kernel() {
    for kernel in hashforge::cpu::Kernel::supported() {
        let out = hashforge(&[
            "scan",
            "--header",
            GENESIS,
            "--start",
            "2083200000",
            "--count",
            "100000",
            "--target",
            "00000000ffff0000000000000000000000000000000000000000000000000000",
            "--kernel",
            kernel.name(),
            "--threads",
            "2",
            "--json",
        ]);
        let v = out.json();
        assert_eq!(v["nonces"], serde_json::json!([2083236893u32]), "{kernel}");
        assert_eq!(v["hashes"], 100000);
        assert!(v["seconds"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn scan_by_difficulty_lists_nonces_ascending() {
    let out = hashforge(&[
        "scan",
        "--header",
        GENESIS,
        "--start",
        "4294967000",
        "--count",
        "296",
        "--difficulty",
        "0.000000001",
        "--json",
    ]);
    let v = out.json();
    let nonces: Vec<u64> = v["nonces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert!(!nonces.is_empty());
    assert!(nonces.windows(2).all(|w| w[0] < w[1]));
    assert!(nonces
        .iter()
        .all(|&n| (4294967000..=4294967295).contains(&n)));
}

#[test]
fn bench_json_measures_every_kernel() {
    let out = hashforge(&[
        "bench",
        "--kernel",
        "all",
        "--seconds",
        "0.2",
        "--threads",
        "1",
        "--json",
    ]);
    let lines = out.json_lines();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["kernel"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = hashforge::cpu::Kernel::supported()
        .iter()
        .map(|k| k.name())
        .collect();
    assert_eq!(names, expected);
    for l in &lines {
        assert_eq!(l["backend"], "cpu");
        assert_eq!(l["threads"], 1);
        assert!(l["hashes"].as_u64().unwrap() > 0);
        assert!(l["hashrate"].as_f64().unwrap() > 0.0);
    }
}

/// `bench` measures by default exactly the kernel `mine` would use (`--kernel auto`): one line,
/// carrying the real kernel's name, and the calibration that chose it on stderr.
#[test]
fn bench_auto_names_the_chosen_kernel() {
    let out = hashforge(&["bench", "--seconds", "0.2", "--threads", "1", "--json"]);
    let err = &out.stderr;
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let name = lines[0]["kernel"].as_str().unwrap();
    let kernel: hashforge::cpu::Kernel = name.parse().unwrap();
    assert!(kernel.is_supported());
    assert_eq!(name, kernel.name());
    assert!(
        err.contains(&format!("kernel auto: {name} ")),
        "stderr lacks the calibration line: {err}"
    );
}

/// `bench --version-rolling`: the kernel on the plain unit, then on the 4-version unit, with the
/// ratio of the rates; it compares a backend with itself, so `--sweep` or `all` is refused.
#[test]
fn bench_version_rolling_compares_with_plain() {
    let out = hashforge(&[
        "bench",
        "--backend",
        "cpu",
        "--kernel",
        "scalar",
        "--seconds",
        "0.2",
        "--threads",
        "1",
        "--version-rolling",
        "--json",
    ]);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].get("versions").is_none() && lines[0].get("vs_plain").is_none());
    assert_eq!(lines[1]["versions"], 4);
    let (plain, rolled) = (
        lines[0]["hashrate"].as_f64().unwrap(),
        lines[1]["hashrate"].as_f64().unwrap(),
    );
    // The ratio is the median of the turns' ratios, not the ratio of the totals; on a steady
    // machine the two are close, and a noisy one moves them apart by far less than 2×.
    let ratio = lines[1]["vs_plain"].as_f64().unwrap();
    assert!(ratio.is_finite() && ratio > 0.0, "{lines:?}");
    assert!(
        (0.5..2.0).contains(&(ratio / (rolled / plain))),
        "{lines:?}"
    );
    assert_one_line_error(
        &["bench", "--sweep", "--version-rolling"],
        "--version-rolling compares one backend with itself",
    );
}

/// `bench --sweep`: every kernel at every thread count as JSON lines, and `--plot` draws them.
#[test]
fn bench_sweep_covers_kernels_and_threads_and_plots() {
    let svg = std::env::temp_dir().join(format!("hashforge-sweep-{}.svg", std::process::id()));
    let out = hashforge(&[
        "bench",
        "--sweep",
        "--threads",
        "2",
        "--seconds",
        "0.05",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let got: Vec<(String, u64)> = out
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["hashrate"].as_f64().unwrap() > 0.0, "{l}");
            (
                v["kernel"].as_str().unwrap().to_string(),
                v["threads"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = hashforge::cpu::Kernel::supported()
        .iter()
        .flat_map(|k| [(k.name().to_string(), 1), (k.name().to_string(), 2)])
        .collect();
    assert_eq!(got, expected);
    let chart = std::fs::read_to_string(&svg).unwrap();
    let _ = std::fs::remove_file(&svg);
    assert!(
        chart.starts_with("<svg"),
        "{}",
        &chart[..100.min(chart.len())]
    );
    for k in hashforge::cpu::Kernel::supported() {
        assert!(
            chart.contains(&format!("cpu {}", k.name())),
            "no legend for {k}"
        );
    }
}

#[test]
fn bad_input_is_one_line_error() {
    let t = "00000000ffff0000000000000000000000000000000000000000000000000000";
    assert_one_line_error(&["hash", "abc"], "odd number of hex digits");
    assert_one_line_error(&["hash", "zz"], "bad input hex");
    assert_one_line_error(
        &[
            "scan", "--header", "00", "--start", "0", "--count", "1", "--target", t,
        ],
        "expected 80 bytes",
    );
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "0", "--count", "0", "--target", t,
        ],
        "--count",
    );
    assert_one_line_error(
        &[
            "scan",
            "--header",
            GENESIS,
            "--start",
            "4294967295",
            "--count",
            "2",
            "--target",
            t,
        ],
        "past 2^32",
    );
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "0", "--count", "1", "--target", "ff",
        ],
        "expected 32 bytes",
    );
    assert_one_line_error(
        &[
            "scan",
            "--header",
            GENESIS,
            "--start",
            "0",
            "--count",
            "1",
            "--difficulty",
            "-1",
        ],
        "difficulty must be a positive number",
    );
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "0", "--count", "1", "--target", t, "--kernel",
            "sse9",
        ],
        "unknown kernel 'sse9'",
    );
    assert_one_line_error(&["bench", "--kernel", "bogus"], "unknown kernel");
    // Forcing a kernel this CPU lacks names what it lacks.
    for k in hashforge::cpu::Kernel::ALL {
        if !k.is_supported() {
            assert_one_line_error(
                &["bench", "--kernel", k.name(), "--seconds", "0.1"],
                &format!("kernel {} is not supported by this CPU (it lacks", k.name()),
            );
        }
    }
    assert_one_line_error(&["bench", "--seconds", "0"], "more than 0");
    assert_one_line_error(&["bench", "--sweep", "--backend", "gpu"], "--sweep");
    assert_one_line_error(&["bench", "--threads", "0"], "--threads");
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "x", "--count", "1", "--target", t,
        ],
        "invalid value",
    );
    assert_one_line_error(&["frobnicate"], "unrecognized subcommand");
}

/// `--backend auto` (the default) takes the CPU alone where the only adapter is a CPU
/// rasteriser (lavapipe in CI), and says so; it still hashes.
#[test]
fn backend_auto_without_a_real_gpu_is_the_cpu_alone() {
    let run = common::hashforge().success(&[
        "scan",
        "--header",
        GENESIS,
        "--start",
        "2083236893",
        "--count",
        "1",
        "--difficulty",
        "1",
        "--kernel",
        "scalar",
    ]);
    let no_real_gpu = !hashforge::gpu::device::list().iter().any(|a| {
        matches!(
            a.device_type,
            wgpu::DeviceType::DiscreteGpu
                | wgpu::DeviceType::IntegratedGpu
                | wgpu::DeviceType::VirtualGpu
        )
    });
    if no_real_gpu {
        assert!(
            run.stderr.contains("backend auto: the CPU alone"),
            "{}",
            run.stderr
        );
    } else {
        assert!(
            run.stderr.contains("backend auto: the CPU and the GPU"),
            "{}",
            run.stderr
        );
    }
    assert!(run.stdout.contains("2083236893"), "{}", run.stdout);
}

/// `--version` names the kernels this CPU can run, the GPU support built in, and the build.
#[test]
fn version_names_kernels_gpu_support_and_build() {
    let out = hashforge(&["--version"]).stdout;
    assert!(out.starts_with("hashforge "), "{out}");
    let kernels = out
        .lines()
        .find_map(|l| l.strip_prefix("CPU kernels on this machine: "))
        .unwrap_or_else(|| panic!("no kernels: {out}"));
    for kernel in hashforge::cpu::Kernel::supported() {
        assert!(kernels.contains(kernel.name()), "{kernel}: {out}");
    }
    assert!(out.contains("\nGPU: WGSL through wgpu"), "{out}");
    assert!(out.contains("\nbuild: "), "{out}");
}

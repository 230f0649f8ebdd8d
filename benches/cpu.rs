//! Criterion benches: one per CPU kernel, single thread, throughput in hashes; each kernel on
//! the plain unit and on the unit rolled over 4 versions (`<kernel>/rolled`, a quarter of the
//! nonces, so the same number of hashes).
//! `cargo bench --bench cpu`. Compare against `openssl speed -evp sha256` run in the same session
//! (see README), since shared machines are noisy.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashforge::cpu::Kernel;
use hashforge::{Header, Target, WorkUnit};

fn kernels(c: &mut Criterion) {
    let work = WorkUnit::new(Header::genesis(), Target::from_limbs([0; 4]));
    let rolled = WorkUnit::benchmark_rolled();
    let per_nonce = rolled.versions().len() as u32;
    let nonces: u32 = 1 << 16;
    let mut group = c.benchmark_group("sha256d");
    group.throughput(Throughput::Elements(nonces as u64));
    for kernel in Kernel::supported() {
        let mut found = Vec::new();
        group.bench_function(kernel.name(), |b| {
            b.iter(|| {
                kernel.scan(&work, 0, nonces, &mut found);
                assert!(found.is_empty());
            })
        });
        group.bench_function(format!("{}/rolled", kernel.name()), |b| {
            b.iter(|| {
                kernel.scan(&rolled, 0, nonces / per_nonce, &mut found);
                assert!(found.is_empty());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);

//! Criterion throughput of the GPU kernel: one dispatch of `BATCH` nonces on the preferred
//! adapter, with a target nothing meets, with the parameters in the uniform buffer and (where
//! the device has it) as immediate data; each also on the unit rolled over 4 versions. Prints a
//! message and measures nothing without an adapter.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashforge::gpu::{AdapterChoice, Gpu, ParamsIn, Sha256dKernel};
use hashforge::{Header, Target, WorkUnit};

/// About 20–40 ms on lavapipe, well under a millisecond on a real GPU.
const BATCH: u32 = 1 << 18;

fn gpu(c: &mut Criterion) {
    let gpu = match Gpu::open(&AdapterChoice::Preferred) {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("no GPU adapter, GPU benchmark skipped: {e}");
            return;
        }
    };
    let work = WorkUnit::new(Header::genesis(), Target::from_limbs([0; 4]));
    // The rolled unit (`main_rolled`): a quarter of the nonces, so the same number of hashes.
    let rolled = WorkUnit::benchmark_rolled();
    let rolled_batch = BATCH / rolled.versions().len() as u32;
    let mut group = c.benchmark_group("gpu");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    let mut forms = vec![ParamsIn::Uniform, ParamsIn::best(&gpu)];
    forms.dedup();
    for form in forms {
        let mut kernel = Sha256dKernel::with_params(&gpu, 64, form).expect("workgroup 64");
        let mut start = 0u32;
        group.bench_function(format!("wgsl-{}/{}", form.name(), gpu.name()), |b| {
            b.iter(|| {
                let found = kernel.scan(&work, start, BATCH).unwrap();
                start = start.wrapping_add(BATCH) % (u32::MAX - BATCH);
                found
            })
        });
        group.bench_function(format!("wgsl-{}-rolled/{}", form.name(), gpu.name()), |b| {
            b.iter(|| {
                let found = kernel.scan(&rolled, start, rolled_batch).unwrap();
                start = start.wrapping_add(rolled_batch) % (u32::MAX - BATCH);
                found
            })
        });
    }
    group.finish();
}

criterion_group!(benches, gpu);
criterion_main!(benches);

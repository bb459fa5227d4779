//! Cost of argon2id with the default (OWASP) parameters, on the calling thread and through the
//! dedicated hashing pool (the pool adds a channel hop and a thread wake-up per call).
//!
//! Run: `cargo bench --bench password`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::Passwords;

fn bench(c: &mut Criterion) {
    let passwords = Passwords::builder()
        .workers(1)
        .build()
        .expect("default parameters");
    let hash = passwords
        .hash_blocking("correct horse battery staple")
        .expect("hash");
    let mut group = c.benchmark_group("argon2id_owasp");
    group.sample_size(20);
    group.bench_function("hash_blocking", |b| {
        b.iter(|| passwords.hash_blocking(black_box("correct horse battery staple")));
    });
    group.bench_function("verify_blocking", |b| {
        b.iter(|| {
            passwords.verify_blocking(black_box("correct horse battery staple"), hash.as_str())
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    group.bench_function("verify_on_pool", |b| {
        b.iter(|| {
            rt.block_on(passwords.verify(black_box("correct horse battery staple"), hash.as_str()))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

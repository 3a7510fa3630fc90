//! Path resolution: the `openat2` fast path (no `..`, no symlink), the component walk a
//! symlink forces, and `cat` of a 16-byte file through a gate that allows it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rex_policy::{Gate, Policies};

fn bench_resolve(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let deep = base.join("a/b/c/d/e/f/g/h");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(base.join("small.txt"), "hello rex bench\n").unwrap();
    std::fs::write(deep.join("small.txt"), "hello rex bench\n").unwrap();
    std::os::unix::fs::symlink(&deep, base.join("link")).unwrap();
    let shallow = base.join("small.txt").to_str().unwrap().to_owned();
    let deep_file = deep.join("small.txt").to_str().unwrap().to_owned();
    let via_link = base.join("link/small.txt").to_str().unwrap().to_owned();
    let dotdot = base.join("a/../small.txt").to_str().unwrap().to_owned();

    let mut group = c.benchmark_group("resolve");
    group.bench_function("fast_path_shallow", |b| {
        b.iter(|| rex_fs::resolve(black_box(&shallow), true).unwrap())
    });
    group.bench_function("fast_path_deep", |b| {
        b.iter(|| rex_fs::resolve(black_box(&deep_file), true).unwrap())
    });
    group.bench_function("walk_symlink", |b| {
        b.iter(|| rex_fs::resolve(black_box(&via_link), true).unwrap())
    });
    group.bench_function("walk_dotdot", |b| {
        b.iter(|| rex_fs::resolve(black_box(&dotdot), true).unwrap())
    });
    group.finish();

    let policy = format!(
        "permit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"{b}\");\n\
         permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"{shallow}\");\n",
        b = base.display()
    );
    let gate = Gate::builder()
        .principal("bench")
        .build(Policies::from_text("bench.cedar", &policy).unwrap())
        .unwrap();
    c.bench_function("cat_16_bytes", |b| {
        b.iter(|| rex_fs::cat(&gate, black_box(&shallow), 1 << 20).unwrap())
    });
    c.bench_function("std_fs_read_16_bytes", |b| {
        b.iter(|| std::fs::read(black_box(&shallow)).unwrap())
    });
}

criterion_group!(benches, bench_resolve);
criterion_main!(benches);

//! `Gate::check` with 10 and 10,000 policies, allowed and denied, on a remembered request
//! (the decision memo answers) and on requests the gate has not seen (the scope index and
//! Cedar answer). Policies are the shape of `../shared/bench/gen-policy.sh K scope`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rex_policy::{CanonicalPath, Gate, Policies, Resource, action::fs};

/// `k` permits on files never asked about, plus the two the read loop needs.
fn policy_text(k: usize) -> String {
    let mut text = String::new();
    for i in 0..k {
        text.push_str(&format!(
            "permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"/tmp/rexbench/other/f{i:05}.txt\");\n"
        ));
    }
    text.push_str("permit(principal, action == file_system::Action::\"open\", resource == file_system::Dir::\"/tmp/rexbench\");\n");
    text.push_str("permit(principal, action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"/tmp/rexbench/small.txt\");\n");
    text
}

fn gate(k: usize) -> Gate {
    Gate::builder()
        .principal("bench")
        .build(Policies::from_text("bench.cedar", &policy_text(k)).unwrap())
        .unwrap()
}

fn file(p: &str) -> Resource {
    Resource::file(&CanonicalPath::new(p).unwrap())
}

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("gate_check");
    for k in [10usize, 10_000] {
        let g = gate(k);
        let allowed = file("/tmp/rexbench/small.txt");
        let denied = file("/tmp/rexbench/secret.txt");
        group.bench_with_input(BenchmarkId::new("allow_remembered", k), &k, |b, _| {
            b.iter(|| black_box(g.check(fs::READ, black_box(&allowed)).is_ok()))
        });
        group.bench_with_input(BenchmarkId::new("deny_remembered", k), &k, |b, _| {
            b.iter(|| black_box(g.check(fs::READ, black_box(&denied)).is_err()))
        });
        // More distinct requests than the memo keeps: every check is evaluated.
        let fresh: Vec<Resource> = (0..70_000)
            .map(|i| file(&format!("/tmp/rexbench/fresh/x{i}.txt")))
            .collect();
        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new("deny_evaluated", k), &k, |b, _| {
            b.iter(|| {
                i = (i + 1) % fresh.len();
                black_box(g.check(fs::READ, &fresh[i]).is_err())
            })
        });
        let dirs: Vec<Resource> = (0..70_000)
            .map(|i| Resource::dir(&CanonicalPath::new(&format!("/tmp/rexbench/d{i}")).unwrap()))
            .collect();
        let g_all = Gate::builder()
            .principal("bench")
            .build(
                Policies::from_text(
                    "bench.cedar",
                    &format!(
                        "{}permit(principal, action == file_system::Action::\"open\", resource in file_system::Dir::\"/tmp/rexbench\");\n",
                        policy_text(k)
                    ),
                )
                .unwrap(),
            )
            .unwrap();
        let mut j = 0usize;
        group.bench_with_input(BenchmarkId::new("allow_evaluated", k), &k, |b, _| {
            b.iter(|| {
                j = (j + 1) % dirs.len();
                black_box(g_all.check(fs::OPEN, &dirs[j]).is_ok())
            })
        });
    }
    group.finish();
}

fn bench_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("policies_load");
    group.sample_size(10);
    for k in [10usize, 1_000] {
        let text = policy_text(k);
        group.bench_with_input(BenchmarkId::from_parameter(k), &text, |b, text| {
            b.iter(|| Policies::from_text("bench.cedar", black_box(text)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_check, bench_load);
criterion_main!(benches);

-- One row per transaction, the shape of the adapter's dedupe insert; run
-- by BenchmarkSafeModeText against the benchmark's own database.
INSERT INTO pgbench_insert (platform, key) VALUES ('wechat', 'pgbench:' || :client_id || ':' || random());

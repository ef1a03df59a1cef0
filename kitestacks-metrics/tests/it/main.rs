//! Integration tests of kitestacks-metrics: a sample from node_exporter's fixture tree,
//! rates over synthetic counter sequences, and the live host against `free`, `df`,
//! `/proc/loadavg` and `/proc/net/dev`, containers from fixture cgroup trees, and property
//! tests of every parser (`props`).

mod containers;
mod e2e;
mod fixture;
mod live;
mod mutate;
mod props;
mod sequences;

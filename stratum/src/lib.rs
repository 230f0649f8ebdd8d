//! Stratum v1: typed messages, a newline-delimited JSON codec, a client and a pool server.

//! The helpers the Stratum tests share live in `hashforge-stratum-test-support`
//! (`stratum/test-support/`); `mod common;` and `common::…` keep naming them.
#![allow(unused_imports)]

pub use hashforge_stratum_test_support::*;

//! `hashforge hash`: sha256d of some bytes.

use anyhow::{ensure, Result};

use hashforge::units::format_difficulty;
use hashforge::{hash_difficulty, Hash256};
use hashforge_bitcoin::{hex, sha256d};

pub fn run(hex: &str) -> Result<()> {
    let bytes = hex::decode(hex, "input")?;
    ensure!(!bytes.is_empty(), "nothing to hash: the input is empty");
    let hash = Hash256(sha256d(&bytes));
    println!("{hash}");
    println!("difficulty {}", format_difficulty(hash_difficulty(&hash)));
    Ok(())
}

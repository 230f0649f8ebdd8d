//! `hashforge hash`: sha256d of some bytes.

use anyhow::{ensure, Result};

use crate::units::format_difficulty;
use crate::{hash_difficulty, hexbytes, Hash256};

pub fn run(hex: &str) -> Result<()> {
    let bytes = hexbytes::decode(hex, "input")?;
    ensure!(!bytes.is_empty(), "nothing to hash: the input is empty");
    let hash = Hash256(crate::sha256::sha256d(&bytes));
    println!("{hash}");
    println!("difficulty {}", format_difficulty(hash_difficulty(&hash)));
    Ok(())
}

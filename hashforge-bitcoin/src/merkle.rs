//! The merkle tree of a block's transactions: the root, the coinbase's branch, and the fold
//! of a branch back to the root (every hash in internal byte order).

use crate::sha256::sha256d;

/// The branch (sibling hashes from the bottom up) of the leftmost leaf of the merkle tree whose
/// other leaves are `others`. Fold it with [`fold_branch`] to get the root.
pub fn branch(others: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let mut branch = Vec::new();
    // `level[0]` stands for the (unknown) leftmost node.
    let mut level: Vec<[u8; 32]> = std::iter::once([0u8; 32])
        .chain(others.iter().copied())
        .collect();
    while level.len() > 1 {
        branch.push(level[1]);
        if level.len() % 2 == 1 {
            let last = level[level.len() - 1];
            level.push(last);
        }
        let mut next = vec![[0u8; 32]];
        for pair in level[2..].chunks(2) {
            next.push(hash_pair(&pair[0], &pair[1]));
        }
        level = next;
    }
    branch
}

/// The parent of two nodes: `sha256d(left ‖ right)`.
pub fn hash_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a);
    buf[32..].copy_from_slice(b);
    sha256d(&buf)
}

/// The merkle root from the leftmost leaf and its branch (each branch hash on the right).
pub fn fold_branch(leaf: [u8; 32], branch: &[[u8; 32]]) -> [u8; 32] {
    branch.iter().fold(leaf, |acc, h| hash_pair(&acc, h))
}

/// The merkle root of `leaves` (internal byte order), duplicating the last node of odd levels.
/// The root of no leaves is all zeros.
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.split_first() {
        None => [0u8; 32],
        Some((first, rest)) => fold_branch(*first, &branch(rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_branch_folds_to_root() {
        for n in 0..12u8 {
            let leaves: Vec<[u8; 32]> = (0..=n).map(|i| [i; 32]).collect();
            let branch = branch(&leaves[1..]);
            assert_eq!(fold_branch(leaves[0], &branch), root(&leaves));
        }
        // Two leaves: root = H(a || b).
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(root(&[a, b]), hash_pair(&a, &b));
        // Three leaves: the last is paired with itself.
        let c = [3u8; 32];
        assert_eq!(
            root(&[a, b, c]),
            hash_pair(&hash_pair(&a, &b), &hash_pair(&c, &c))
        );
    }
}

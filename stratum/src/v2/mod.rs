//! Stratum V2: the encrypted transport (Noise NX over TCP), the authority keys, the pool's
//! server side (in [`crate::server`], beside Stratum v1) and the miner's client session.
//!
//! The framing, the Noise handshake and cipher, and the message codecs are the reference
//! implementation's crates (`noise_sv2`, `codec_sv2`, `framing_sv2`, `binary_sv2`,
//! `common_messages_sv2`, `mining_sv2`, `parsers_sv2`, `key-utils`); this module only puts
//! them on tokio sockets, with the bounds a server facing the internet needs.

pub mod client;
pub mod keys;
pub mod transport;

pub use keys::{AuthorityKeys, AuthorityPublicKey};
pub use transport::{Frame, Sv2Reader, Sv2Writer};

/// The SV2 protocol version spoken (the only one there is).
pub const PROTOCOL_VERSION: u16 = 2;
/// `SetupConnection` flag (mining protocol): the miner can roll version bits.
pub const FLAG_REQUIRES_VERSION_ROLLING: u32 = 0b100;
/// `SetupConnection` flag (mining protocol): the miner only takes standard jobs.
pub const FLAG_REQUIRES_STANDARD_JOBS: u32 = 0b1;
/// `SetupConnection` flag (mining protocol): the miner selects its own work.
pub const FLAG_REQUIRES_WORK_SELECTION: u32 = 0b10;
/// The version bits a job with `version_rolling_allowed` lets the miner change (BIP 320).
pub const VERSION_ROLLING_MASK: u32 = 0x1fff_e000;

//! The page's parts.

pub mod drawing_pad;
pub mod feedback;
pub mod history;
pub mod result;
pub mod stats;
pub mod thumbnail;

//! The page's parts.

pub mod answer;
pub mod details;
pub mod drawing_pad;
pub mod feedback;
pub mod history;
pub mod stats;
pub mod thumbnail;
pub mod tools;

//! The page's behaviour, as hooks: the drawing pad's strokes, recognising
//! and storing the drawing, what the user's controls do, the keyboard, and
//! coming back after the connection was lost.

pub mod controls;
pub mod pad;
pub mod paste;
pub mod recognition;
pub mod reconnect;
pub mod shortcuts;
pub mod window_event;

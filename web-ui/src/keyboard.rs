//! Keyboard shortcuts of the drawing (where they act: `hooks::shortcuts`):
//! digits 0-9 type the right answer, Enter confirms (the typed answer, or
//! "correct"), Escape closes an open panel or else clears, Backspace or
//! Ctrl+Z undoes the last stroke, and Ctrl+Y or Ctrl+Shift+Z redoes it.

/// A shortcut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// A digit key.
    Digit(u8),
    /// Enter.
    Confirm,
    /// Escape.
    Clear,
    /// Backspace or Ctrl+Z.
    Undo,
    /// Ctrl+Y or Ctrl+Shift+Z.
    Redo,
}

/// The shortcut of a key press, if any.
pub fn shortcut(key: &str, ctrl: bool, shift: bool) -> Option<Shortcut> {
    match key {
        "Enter" => Some(Shortcut::Confirm),
        "Escape" => Some(Shortcut::Clear),
        "Backspace" => Some(Shortcut::Undo),
        "z" | "Z" if ctrl && shift => Some(Shortcut::Redo),
        "z" | "Z" if ctrl => Some(Shortcut::Undo),
        "y" | "Y" if ctrl => Some(Shortcut::Redo),
        _ if !ctrl && key.len() == 1 => key.parse::<u8>().ok().filter(|d| *d <= 9).map(Shortcut::Digit),
        _ => None,
    }
}

/// The hint shown where a keyboard is likely.
pub const HINT: &str =
    "Keys: 0–9 type the answer · Enter confirms · Esc closes or clears · Backspace undoes · Ctrl+Y redoes";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(shortcut("7", false, false), Some(Shortcut::Digit(7)));
        assert_eq!(shortcut("Enter", false, false), Some(Shortcut::Confirm));
        assert_eq!(shortcut("Escape", false, false), Some(Shortcut::Clear));
        assert_eq!(shortcut("z", true, false), Some(Shortcut::Undo));
        assert_eq!(shortcut("Z", true, true), Some(Shortcut::Redo));
        assert_eq!(shortcut("y", true, false), Some(Shortcut::Redo));
        assert_eq!(shortcut("z", false, false), None);
        assert_eq!(shortcut("7", true, false), None);
        assert_eq!(shortcut("a", false, false), None);
    }
}

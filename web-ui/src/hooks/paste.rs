//! An image pasted anywhere on the page (Ctrl+V of a copied picture or
//! screenshot) starts a drawing from it. Text pasted into a field is left
//! to the field.

use web_sys::{Blob, ClipboardEvent};
use yew::prelude::*;

use crate::hooks::window_event::use_window_event;

/// Calls `on_image` with every image pasted on the page.
#[hook]
pub fn use_paste(on_image: Callback<Blob>) {
    use_window_event(
        "paste",
        Callback::from(move |event: ClipboardEvent| {
            let Some(files) = event.clipboard_data().and_then(|data| data.files()) else { return };
            let image = (0..files.length()).filter_map(|i| files.get(i)).find(|f| f.type_().starts_with("image/"));
            if let Some(image) = image {
                event.prevent_default();
                on_image.emit(image.into());
            }
        }),
    );
}

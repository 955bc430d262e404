//! The drawing tools: undo, redo, clear, the brush, and an image file to
//! start from. The buttons carry `data-tool`, so Enter on them does nothing:
//! Enter never clears a drawing (see `hooks::shortcuts`).

use web_sys::{Blob, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::drawing::Brush;

/// Props of [`Tools`].
#[derive(Properties, PartialEq)]
pub struct ToolsProps {
    /// There is a stroke to undo.
    pub can_undo: bool,
    /// There is a stroke to redo.
    pub can_redo: bool,
    /// The brush.
    pub brush: Brush,
    /// Another brush was picked.
    pub on_brush: Callback<Brush>,
    /// Undo pressed.
    pub on_undo: Callback<()>,
    /// Redo pressed.
    pub on_redo: Callback<()>,
    /// Clear pressed.
    pub on_clear: Callback<()>,
    /// An image file was chosen.
    pub on_file: Callback<Blob>,
}

/// The toolbar under the pad.
#[component]
pub fn Tools(props: &ToolsProps) -> Html {
    let onchange_brush = {
        let on_brush = props.on_brush.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Some(brush) = Brush::ALL.into_iter().find(|b| b.name() == select.value()) {
                on_brush.emit(brush);
            }
        })
    };
    let onchange_file = {
        let on_file = props.on_file.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                on_file.emit(file.into());
            }
            // The same file may be chosen again.
            input.set_value("");
        })
    };
    html! {
        <div class="tools" role="toolbar" aria-label="Drawing tools">
            <button id="undo" data-tool="" aria-label="Undo" title="Undo the last stroke"
                disabled={!props.can_undo} onclick={props.on_undo.reform(|_: MouseEvent| ())}>{"↶"}</button>
            <button id="redo" data-tool="" aria-label="Redo" title="Redo the stroke undone"
                disabled={!props.can_redo} onclick={props.on_redo.reform(|_: MouseEvent| ())}>{"↷"}</button>
            <button id="clear" data-tool="" onclick={props.on_clear.reform(|_: MouseEvent| ())}>{"Clear"}</button>
            <select id="brush" aria-label="Brush thickness" title="Brush thickness" onchange={onchange_brush}>
                { for Brush::ALL.into_iter().map(|b| html! {
                    <option value={b.name()} selected={b == props.brush}>{b.name()}</option>
                }) }
            </select>
            <label class="button upload" title="Start from a photo or image file">
                {"Image"}
                <input id="upload" class="sr-only" type="file" accept="image/*" onchange={onchange_file.clone()} />
            </label>
            // Phones: straight to the back camera (shown on touch screens only).
            <label class="button upload camera" title="Take a photo of a digit on paper">
                {"Camera"}
                <input id="camera" class="sr-only" type="file" accept="image/*" capture="environment" onchange={onchange_file} />
            </label>
        </div>
    }
}

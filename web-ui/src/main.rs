//! The Digits web app: draw a digit, see the 28x28 image the model saw and
//! its answer, tell it whether it was right, and watch history and accuracy.

mod api;
mod app;
mod components;
mod drawing;
mod keyboard;
mod session;

fn main() {
    yew::Renderer::<app::App>::new().render();
}

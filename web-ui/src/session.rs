//! The state of the current drawing: its revision, the local preview, the
//! server's answer, whether it is logged, and the feedback. Answers carry
//! the revision they were computed for, so a late answer for an older
//! drawing never overwrites a newer one.

use std::rc::Rc;

use yew::Reducible;

use digits_web_api::Feedback as Answer;

use crate::api::Prediction;

/// Where the user's feedback stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Feedback {
    /// None given yet.
    #[default]
    None,
    /// Being saved.
    Saving,
    /// Saved: what the user said was drawn.
    Saved(Answer),
    /// Not saved: why.
    Failed(String),
}

/// The current drawing as the page shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// The revision of the drawing shown by `preview`.
    pub preview_revision: u32,
    /// The 28x28 images of the drawing's digits computed in the browser, 784
    /// bytes each, left to right; `None` when nothing is drawn.
    pub preview: Option<Rc<Vec<u8>>>,
    /// The revision `answer` belongs to.
    pub answer_revision: u32,
    /// The server's latest answer.
    pub answer: Option<Rc<Prediction>>,
    /// The id of the logged prediction of `answer_revision`, once logged.
    pub logged_id: Option<String>,
    /// A request failed.
    pub error: Option<String>,
    /// The feedback on the current drawing.
    pub feedback: Feedback,
}

impl Session {
    /// Whether the preview and the answer are of the same drawing and the
    /// server saw exactly the images computed here.
    pub fn preview_matches_server(&self) -> Option<bool> {
        let (preview, answer) = (self.preview.as_ref()?, self.answer.as_ref()?);
        (self.preview_revision == self.answer_revision).then(|| {
            let server = answer.parts.iter().flat_map(|p| p.input.iter().copied());
            preview.iter().copied().eq(server)
        })
    }
}

/// What happened.
pub enum Action {
    /// The drawing changed; its local 28x28 image (`None` when empty).
    Preview { revision: u32, preview: Option<Rc<Vec<u8>>> },
    /// The server answered for `revision`.
    Answer { revision: u32, prediction: Rc<Prediction> },
    /// A request for `revision` failed.
    Failed { revision: u32, message: String },
    /// Everything was cleared.
    Reset,
    /// Feedback changed.
    Feedback(Feedback),
}

impl Reducible for Session {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Preview { revision, preview } => {
                if revision < next.preview_revision {
                    return self;
                }
                next.preview_revision = revision;
                if preview.is_none() {
                    next.answer = None;
                    next.logged_id = None;
                }
                next.preview = preview;
                next.error = None;
                if !matches!(next.feedback, Feedback::Saving) {
                    next.feedback = Feedback::None;
                }
            }
            Action::Answer { revision, prediction } => {
                if revision < next.answer_revision || revision < next.preview_revision {
                    return self;
                }
                if revision != next.answer_revision || prediction.id.is_some() {
                    next.logged_id = prediction.id.clone();
                }
                next.answer_revision = revision;
                next.answer = Some(prediction);
                next.error = None;
            }
            Action::Failed { revision, message } => {
                if revision >= next.preview_revision {
                    next.error = Some(message);
                }
            }
            Action::Reset => {
                next = Session { preview_revision: next.preview_revision, ..Session::default() };
            }
            Action::Feedback(feedback) => next.feedback = feedback,
        }
        Rc::new(next)
    }
}

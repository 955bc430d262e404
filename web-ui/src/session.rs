//! The state of the current drawing, in one reducer: its revision, the
//! local preview, the latest answer (a draft, or the stored reading), its
//! record, the feedback, and what went wrong.
//!
//! One drawing is one record. The first time the pen rests the drawing is
//! stored (`POST`); later rests store the changed drawing in place of it
//! (`PUT ?revision=`). Feedback makes the record final, and so does
//! clearing or starting the next drawing.
//!
//! Drafts are read in the page once its model has loaded
//! ([`Session::next_local`]), on every change, with no request; until then
//! (or where the model cannot run) they are read by the server
//! ([`Session::next_draft`]). A draft is shown only when it is worth
//! showing ([`Session::shown`]): a sure digit or number, or anything once
//! the pen has rested; before that the page says "Reading…", so a 7 does not
//! flicker through "not a digit" and "0, not sure" on its way. An answer of
//! an older revision is never shown as the drawing's.
//!
//! The asynchronous work (see `hooks::recognition`) starts from what this
//! state says is due ([`Session::next_local`], [`Session::next_draft`],
//! [`Session::next_store`], [`Session::next_feedback`]) and reports back with
//! actions that name the drawing and revision they belong to, so a late
//! answer for an older drawing never overwrites a newer one. When the
//! connection is lost, drawing and local drafts go on; the store and any
//! feedback given meanwhile wait, and go through by themselves, once each,
//! when it is back (`hooks::reconnect` dispatches [`Action::Retry`]).

use std::rc::Rc;

use yew::Reducible;

use digits_web_api::Feedback as Answer;

use crate::api::{Prediction, Verdict};

/// Below this confidence an answer is marked "not sure".
pub const SURE: f32 = 0.8;

/// One revision of one drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Target {
    /// Which drawing: bumped when a new drawing starts.
    pub drawing: u32,
    /// Which revision of it: bumped on every change.
    pub revision: u32,
}

/// The model's latest answer, and whether it is the stored reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The answer.
    pub prediction: Rc<Prediction>,
    /// The revision it is for.
    pub revision: u32,
    /// Stored (not a draft).
    pub stored: bool,
}

impl Reading {
    /// A digit or a number read with confidence: a draft worth showing
    /// while the pen still moves.
    pub fn sure(&self) -> bool {
        self.prediction.verdict != Verdict::NotADigit && self.prediction.confidence >= SURE
    }

    /// Whether the model was unsure: a digit or a number's least sure digit
    /// below [`SURE`].
    pub fn unsure(&self) -> bool {
        self.prediction.verdict != Verdict::NotADigit && self.prediction.confidence < SURE
    }
}

/// The drawing's record, once stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its id.
    pub id: String,
    /// The revision it holds.
    pub revision: u32,
    /// The images it was read from, and the server's reading of them: a
    /// later revision that comes back to the same images (an undo and its
    /// redo) is the record as it is, with no request.
    pub held: Option<(Rc<Vec<u8>>, Rc<Prediction>)>,
}

/// Where the user's feedback stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Feedback {
    /// None given.
    #[default]
    None,
    /// Given, not sent yet.
    Wanted(Answer),
    /// Being saved.
    Saving(Answer),
    /// Saved.
    Saved(Answer),
    /// Not saved: why.
    Failed(Answer, String),
}

impl Feedback {
    /// The answer given, in whatever state.
    pub fn answer(&self) -> Option<&Answer> {
        match self {
            Self::None => None,
            Self::Wanted(a) | Self::Saving(a) | Self::Saved(a) | Self::Failed(a, _) => Some(a),
        }
    }
}

/// A request failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// What to tell the user.
    pub message: String,
    /// The server could not be reached (rather than refusing).
    pub offline: bool,
}

/// The current drawing as the page shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// The drawing and its revision.
    pub now: Target,
    /// Nothing is drawn.
    pub empty: bool,
    /// A stroke is being drawn.
    pub pen_down: bool,
    /// The last revision at which the pen rested long enough to store it.
    pub rested: Option<u32>,
    /// The 28x28 images of the drawing's digits computed in the browser,
    /// 784 bytes each, left to right, and the revision they show.
    pub preview: Option<(u32, Rc<Vec<u8>>)>,
    /// The latest answer.
    pub reading: Option<Reading>,
    /// A draft read is in flight.
    pub drafting: bool,
    /// The last revision a draft read was started for.
    pub drafted: Option<u32>,
    /// The record, once stored.
    pub record: Option<Record>,
    /// The revision being stored.
    pub storing: Option<u32>,
    /// The feedback on the record.
    pub feedback: Feedback,
    /// What is typed as the right answer.
    pub label: String,
    /// The last request failed.
    pub problem: Option<Problem>,
    /// Bumped by a retry, so that what failed is tried again.
    pub attempt: u32,
    /// Bumped whenever something was stored, for the history and figures.
    pub saves: u32,
    /// The page's own model is loaded: drafts are read here.
    pub local: bool,
    /// What the page's model last said, and of which revision (kept when the
    /// server's reading replaces it, to compare the two).
    pub local_said: Option<(u32, String)>,
    /// The last revision that was a tap or a dot, too small to read
    /// (`digits_preprocess::TAP_SIDE`): nothing is shown or stored for it.
    pub too_small: Option<u32>,
}

/// What happened.
#[derive(Debug)]
pub enum Action {
    /// The drawing changed; `settled` when the pen is up (a stroke ended,
    /// an undo, a picture), `empty` when nothing is left.
    Changed { settled: bool, empty: bool },
    /// The pen rested on this revision.
    Rested(Target),
    /// A draft read started, with the preview it sends (`None`: no ink).
    DraftStarted(Target, Option<Rc<Vec<u8>>>),
    /// The draft's answer.
    DraftAnswered(Target, Rc<Prediction>),
    /// The draft read is over (answered or not, after the pause between reads).
    DraftDone(Target),
    /// Storing started, with the preview it sends.
    StoreStarted(Target, Rc<Vec<u8>>),
    /// Stored: the reading and its record's id.
    Stored(Target, Rc<Prediction>),
    /// A draft read or a picture for this drawing failed (the draft still
    /// reports [`Action::DraftDone`]).
    Failed(Target, Problem),
    /// Storing this drawing failed.
    StoreFailed(Target, Problem),
    /// Try what failed again.
    Retry,
    /// The user says what was drawn.
    Give(Answer),
    /// The feedback is being sent.
    FeedbackSaving(Target),
    /// The feedback of this drawing was saved.
    FeedbackSaved(Target, Answer),
    /// It was not.
    FeedbackFailed(Target, Answer, String),
    /// Typed into "No, it is".
    Typed(String),
    /// A new drawing starts: the old record is final.
    NewDrawing,
    /// Something outside the drawing was stored or deleted (history).
    Saved,
    /// The page's model has loaded: drafts are read here from now on.
    ModelReady,
    /// A draft read in the page: the preview and the answer (`None` when
    /// there is no ink, or the model failed on it).
    LocalRead(Target, Option<Rc<Vec<u8>>>, Option<Rc<Prediction>>),
    /// The drawing is a tap or a dot: too small to read, and not stored.
    TooSmall(Target),
}

impl Session {
    /// A blank page.
    pub fn new() -> Self {
        Self { empty: true, ..Self::default() }
    }

    /// The stored reading of the drawing as it is now, if there is one:
    /// only then do "Correct" and the corrections act.
    pub fn stored_reading(&self) -> Option<&Reading> {
        self.reading.as_ref().filter(|r| r.stored && r.revision == self.now.revision && !self.empty)
    }

    /// The preview's images, when something is drawn.
    pub fn preview_images(&self) -> Option<Rc<Vec<u8>>> {
        self.preview.as_ref().filter(|_| !self.empty).map(|(_, p)| p.clone())
    }

    /// Whether the preview and the answer are of the same revision and the
    /// server saw exactly the images computed here (`None`: not known).
    pub fn preview_matches_server(&self) -> Option<bool> {
        let ((preview_revision, preview), reading) = (self.preview.as_ref()?, self.reading.as_ref()?);
        // A draft read in the page is no word from the server.
        let from_server = reading.stored || !self.local;
        (*preview_revision == reading.revision && from_server).then(|| {
            let server = reading.prediction.parts.iter().flat_map(|p| p.input.iter().copied());
            preview.iter().copied().eq(server)
        })
    }

    /// The answer to show for the drawing as it is: its stored reading, or a
    /// draft worth showing (sure, or the pen has rested); never one of an
    /// earlier revision.
    pub fn shown(&self) -> Option<&Reading> {
        let reading = self.reading.as_ref().filter(|r| r.revision == self.now.revision && !self.empty)?;
        (reading.stored || reading.sure() || self.rested == Some(self.now.revision)).then_some(reading)
    }

    /// The answer feedback acts on: the stored reading, or, while the
    /// connection is lost, the page's own reading of the rested drawing
    /// (the feedback then waits for the store).
    pub fn answerable(&self) -> Option<&Reading> {
        let offline = self.problem.as_ref().is_some_and(|p| p.offline);
        self.stored_reading().or_else(|| self.shown().filter(|_| offline && self.rested == Some(self.now.revision)))
    }

    /// Whether the page is waiting for an answer worth showing.
    pub fn pending(&self) -> bool {
        !self.empty && !self.is_too_small() && self.shown().is_none()
    }

    /// Whether the drawing as it is is a tap or a dot, too small to read.
    pub fn is_too_small(&self) -> bool {
        !self.empty && self.too_small == Some(self.now.revision)
    }

    /// Whether feedback made the drawing final.
    pub fn is_final(&self) -> bool {
        !matches!(self.feedback, Feedback::None | Feedback::Failed(..))
    }

    fn blocked(&self) -> bool {
        self.problem.is_some() || self.empty
    }

    /// The revision a local draft read is due for (the page's model is loaded).
    pub fn next_local(&self) -> Option<Target> {
        (self.local && !self.empty && self.drafted != Some(self.now.revision)).then_some(self.now)
    }

    /// The revision a draft read by the server is due for (no model in the page yet).
    pub fn next_draft(&self) -> Option<Target> {
        let due = !self.local && !self.drafting && self.drafted != Some(self.now.revision) && self.storing.is_none();
        (due && !self.blocked() && self.reading.as_ref().is_none_or(|r| r.revision != self.now.revision))
            .then_some(self.now)
    }

    /// The revision to wait a moment on before storing it: the pen is up
    /// and it is not stored.
    pub fn next_rest(&self) -> Option<Target> {
        let stored = self.record.as_ref().is_some_and(|r| r.revision == self.now.revision);
        (!self.pen_down && !self.empty && !stored && !self.is_final() && !self.is_too_small()).then_some(self.now)
    }

    /// The revision due to be stored, with the record it replaces.
    pub fn next_store(&self) -> Option<(Target, Option<String>)> {
        let stored = self.record.as_ref().is_some_and(|r| r.revision >= self.now.revision);
        // Feedback given before the store (offline) does not stop it: it waits for it.
        let due = self.rested == Some(self.now.revision) && !stored && self.storing.is_none();
        (due && !self.blocked() && !self.is_too_small()).then(|| (self.now, self.record.as_ref().map(|r| r.id.clone())))
    }

    /// The feedback due to be sent, with the record it is on.
    pub fn next_feedback(&self) -> Option<(Target, String, Answer)> {
        let Feedback::Wanted(answer) = &self.feedback else { return None };
        let record = self.record.as_ref().filter(|r| r.revision == self.now.revision)?;
        Some((self.now, record.id.clone(), answer.clone()))
    }
}

impl Reducible for Session {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        let current = |t: Target| t.drawing == self.now.drawing;
        match action {
            Action::Changed { settled, empty } => {
                next.now.revision += 1;
                next.pen_down = !settled;
                next.empty = empty;
                // A new stroke tries again whatever failed.
                next.problem = None;
                if empty {
                    next.reading = None;
                    next.preview = None;
                }
            }
            Action::Rested(t) if t == self.now => next.rested = Some(t.revision),
            Action::DraftStarted(t, preview) if current(t) => {
                next.drafting = true;
                next.drafted = Some(t.revision);
                next.show_preview(t.revision, preview);
            }
            Action::DraftAnswered(t, prediction) if current(t) => {
                let newer = next.reading.as_ref().is_none_or(|r| t.revision > r.revision);
                if newer {
                    next.reading = Some(Reading { prediction, revision: t.revision, stored: false });
                }
                next.problem = None;
            }
            Action::DraftDone(t) if current(t) => next.drafting = false,
            Action::StoreStarted(t, preview) if current(t) => {
                next.storing = Some(t.revision);
                next.show_preview(t.revision, Some(preview));
            }
            Action::Stored(t, prediction) if current(t) => {
                next.storing = None;
                if let Some(id) = prediction.id.clone() {
                    let sent = self.preview.as_ref().filter(|(r, _)| *r == t.revision).map(|(_, p)| p.clone());
                    let held = sent.map(|images| (images, prediction.clone()));
                    next.record = Some(Record { id, revision: t.revision, held });
                }
                if next.reading.as_ref().is_none_or(|r| t.revision >= r.revision) {
                    next.reading = Some(Reading { prediction, revision: t.revision, stored: true });
                }
                next.problem = None;
                next.saves += 1;
            }
            Action::Failed(t, problem) if current(t) => next.problem = Some(problem),
            Action::StoreFailed(t, problem) if current(t) => {
                next.storing = None;
                next.problem = Some(problem);
                if let Feedback::Wanted(answer) = &next.feedback {
                    next.feedback = Feedback::Failed(answer.clone(), "the drawing could not be saved".into());
                }
            }
            Action::Retry => {
                next.problem = None;
                next.attempt += 1;
                // A drawing that failed to store is stored now, without waiting.
                if !next.pen_down {
                    next.rested = Some(next.now.revision);
                }
                if let Feedback::Failed(answer, _) = &next.feedback {
                    next.feedback = Feedback::Wanted(answer.clone());
                }
            }
            Action::Give(answer) => {
                if self.answerable().is_some() && !matches!(self.feedback, Feedback::Saving(_)) {
                    next.feedback = Feedback::Wanted(answer);
                }
            }
            Action::FeedbackSaving(t) if current(t) => {
                if let Feedback::Wanted(answer) = &next.feedback {
                    next.feedback = Feedback::Saving(answer.clone());
                }
            }
            Action::FeedbackSaved(t, answer) if current(t) => {
                next.feedback = Feedback::Saved(answer);
                next.label.clear();
                next.saves += 1;
            }
            // Saved after the next drawing began: only the history changed.
            Action::FeedbackSaved(..) => next.saves += 1,
            Action::FeedbackFailed(t, answer, message) if current(t) => {
                next.feedback = Feedback::Failed(answer, message);
            }
            Action::Typed(text) => next.label = text,
            Action::NewDrawing => {
                next = Session {
                    now: Target { drawing: self.now.drawing + 1, revision: 0 },
                    attempt: self.attempt,
                    saves: self.saves,
                    local: self.local,
                    ..Session::new()
                };
            }
            Action::Saved => next.saves += 1,
            Action::ModelReady => next.local = true,
            Action::LocalRead(t, preview, prediction) if t == self.now => {
                next.drafted = Some(t.revision);
                next.local_said = prediction.as_ref().map(|p| (t.revision, said(p)));
                // Back to the images the record holds (an undo, then its redo):
                // the record is the drawing as it is; nothing to send.
                if let (Some(record), Some(images)) = (&mut next.record, &preview)
                    && record.revision < t.revision
                    && let Some((held, answer)) = record.held.clone().filter(|(held, _)| held == images)
                    && !self.is_final()
                {
                    record.revision = t.revision;
                    next.show_preview(t.revision, Some(held));
                    next.reading = Some(Reading { prediction: answer, revision: t.revision, stored: true });
                    return Rc::new(next);
                }
                next.show_preview(t.revision, preview);
                // A stored reading of this revision stays: it is the server's.
                let stored = next.reading.as_ref().is_some_and(|r| r.stored && r.revision == t.revision);
                if let (Some(prediction), false) = (prediction, stored) {
                    next.reading = Some(Reading { prediction, revision: t.revision, stored: false });
                }
            }
            Action::TooSmall(t) if t == self.now => {
                next.too_small = Some(t.revision);
                next.drafted = Some(t.revision);
                next.preview = None;
                next.local_said = None;
            }
            // A late report about an earlier drawing or revision.
            _ => return self,
        }
        Rc::new(next)
    }
}

/// How a reading is said in the page's attributes: `digit:7`, `several_digits:42`, `not_a_digit:`.
pub fn said(p: &Prediction) -> String {
    let verdict = match p.verdict {
        Verdict::Digit => "digit",
        Verdict::SeveralDigits => "several_digits",
        Verdict::NotADigit => "not_a_digit",
    };
    format!("{verdict}:{}", p.number)
}

impl Session {
    fn show_preview(&mut self, revision: u32, preview: Option<Rc<Vec<u8>>>) {
        if self.preview.as_ref().is_none_or(|(r, _)| revision >= *r) {
            self.preview = preview.map(|p| (revision, p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Prediction;

    fn prediction(id: Option<&str>, digit: u8, confidence: f32) -> Rc<Prediction> {
        Rc::new(Prediction {
            id: id.map(str::to_owned),
            verdict: Verdict::Digit,
            number: digit.to_string(),
            parts: Vec::new(),
            digit,
            confidence,
            probabilities: vec![0.0; 10],
            input: vec![0; 784],
            not_a_digit: 0.0,
            model_version: "1.3.0".into(),
            latency_ms: 1.0,
        })
    }

    fn run(session: Session, actions: impl IntoIterator<Item = Action>) -> Session {
        let mut s = Rc::new(session);
        for action in actions {
            s = s.reduce(action);
        }
        Rc::unwrap_or_clone(s)
    }

    #[test]
    fn a_drawing_is_stored_once_when_the_pen_rests_and_replaced_after_more_strokes() {
        let s = run(Session::new(), [Action::Changed { settled: false, empty: false }]);
        assert_eq!(s.next_draft(), Some(s.now));
        assert_eq!(s.next_rest(), None, "the pen is down");
        let t = s.now;
        let s = run(
            s,
            [Action::DraftStarted(t, Some(Rc::new(vec![1; 784]))), Action::DraftAnswered(t, prediction(None, 4, 0.6))],
        );
        assert!(s.reading.as_ref().is_some_and(Reading::unsure));
        assert!(s.stored_reading().is_none(), "a draft is not the stored answer");
        let s = run(s, [Action::DraftDone(t), Action::Changed { settled: true, empty: false }]);
        let t = s.now;
        assert_eq!(s.next_rest(), Some(t));
        assert_eq!(s.next_store(), None, "stored only once the pen rests");
        let s = run(s, [Action::Rested(t)]);
        assert_eq!(s.next_store(), Some((t, None)), "the first store creates the record");
        let s =
            run(s, [Action::StoreStarted(t, Rc::new(vec![2; 784])), Action::Stored(t, prediction(Some("a"), 4, 0.97))]);
        assert_eq!(s.record.as_ref().map(|r| (r.id.as_str(), r.revision)), Some(("a", t.revision)));
        assert!(s.stored_reading().is_some());
        assert_eq!((s.next_store(), s.next_rest(), s.next_draft()), (None, None, None), "nothing more to do");

        // Another stroke, a pause: the same record is replaced.
        let s = run(s, [Action::Changed { settled: true, empty: false }]);
        assert!(s.stored_reading().is_none() && s.pending());
        let t2 = s.now;
        let s = run(s, [Action::Rested(t2)]);
        assert_eq!(s.next_store(), Some((t2, Some("a".into()))));
        // A late rest of an older revision does nothing.
        let late = run(s.clone(), [Action::Rested(t)]);
        assert_eq!(late.rested, Some(t2.revision));
    }

    #[test]
    fn feedback_acts_only_on_the_stored_answer_and_makes_the_drawing_final() {
        let s = run(Session::new(), [Action::Changed { settled: true, empty: false }]);
        let t = s.now;
        let s = run(s, [Action::Give(Answer::digit(4))]);
        assert_eq!(s.feedback, Feedback::None, "no stored answer yet");
        let s = run(
            s,
            [
                Action::Rested(t),
                Action::StoreStarted(t, Rc::new(vec![0; 784])),
                Action::Stored(t, prediction(Some("a"), 4, 0.9)),
            ],
        );
        let s = run(s, [Action::Typed("1".into()), Action::Give(Answer::digit(1))]);
        assert_eq!(s.next_feedback(), Some((t, "a".into(), Answer::digit(1))));
        let s = run(s, [Action::FeedbackSaving(t), Action::FeedbackSaved(t, Answer::digit(1))]);
        assert!(s.is_final());
        assert_eq!(s.label, "");
        assert_eq!(s.next_rest(), None);
        // The answer can be changed afterwards.
        let s = run(s, [Action::Give(Answer::digit(4))]);
        assert_eq!(s.feedback, Feedback::Wanted(Answer::digit(4)));
    }

    #[test]
    fn reports_about_an_earlier_drawing_are_ignored_and_a_failure_waits_for_retry() {
        let s = run(Session::new(), [Action::Changed { settled: true, empty: false }]);
        let old = s.now;
        let s = run(s, [Action::Rested(old), Action::StoreStarted(old, Rc::new(vec![0; 784])), Action::NewDrawing]);
        let s = run(s, [Action::Stored(old, prediction(Some("old"), 1, 0.9))]);
        assert_eq!(s.record, None, "a late answer for the previous drawing");
        assert!(s.empty);

        let s = run(s, [Action::Changed { settled: true, empty: false }]);
        let t = s.now;
        let offline = Problem { message: "offline".into(), offline: true };
        let s = run(
            s,
            [Action::Rested(t), Action::StoreStarted(t, Rc::new(vec![0; 784])), Action::StoreFailed(t, offline)],
        );
        assert_eq!((s.next_store(), s.next_draft()), (None, None), "nothing is retried behind the user's back");
        let s = run(s, [Action::Retry]);
        assert_eq!(s.next_store(), Some((t, None)));

        // A draft failing while a store is in flight: still one store at a time.
        let busy = Problem { message: "busy".into(), offline: false };
        let s = run(s, [Action::StoreStarted(t, Rc::new(vec![0; 784])), Action::Failed(t, busy), Action::Retry]);
        assert_eq!(s.storing, Some(t.revision));
        assert_eq!(s.next_store(), None, "no second store of the same drawing");
    }

    #[test]
    fn a_tap_is_too_small_to_read_and_never_stored() {
        let s = run(Session::new(), [Action::ModelReady, Action::Changed { settled: true, empty: false }]);
        let t = s.now;
        let s = run(s, [Action::TooSmall(t)]);
        assert!(s.is_too_small());
        assert_eq!(s.next_local(), None, "read once");
        assert!(!s.pending() && s.shown().is_none(), "no answer, and no \"Reading…\"");
        assert_eq!(s.next_rest(), None, "nothing waits to be stored");
        let s = run(s, [Action::Rested(t)]);
        assert_eq!(s.next_store(), None, "nothing is stored");
        // The pen goes on: a drawing again, read and stored as usual.
        let s = run(s, [Action::Changed { settled: true, empty: false }]);
        let t2 = s.now;
        assert!(!s.is_too_small());
        assert_eq!((s.next_local(), s.next_rest()), (Some(t2), Some(t2)));
        let s = run(s, [Action::LocalRead(t2, None, Some(prediction(None, 7, 0.97))), Action::Rested(t2)]);
        assert_eq!(s.next_store(), Some((t2, None)));
        // A late verdict about the tap changes nothing.
        let s = run(s, [Action::TooSmall(t)]);
        assert!(!s.is_too_small());
    }

    fn not_a_digit() -> Rc<Prediction> {
        Rc::new(Prediction {
            verdict: Verdict::NotADigit,
            number: String::new(),
            ..(*prediction(None, 0, 0.2)).clone()
        })
    }

    #[test]
    fn with_the_model_in_the_page_drafts_are_read_here_and_shown_only_when_worth_it() {
        let s = run(Session::new(), [Action::ModelReady, Action::Changed { settled: false, empty: false }]);
        let t = s.now;
        assert_eq!((s.next_local(), s.next_draft()), (Some(t), None), "read here, no draft request");
        // The first stroke of a 7 looks like nothing yet: not shown.
        let s = run(s, [Action::LocalRead(t, Some(Rc::new(vec![1; 784])), Some(not_a_digit()))]);
        assert_eq!(s.next_local(), None, "one read per revision");
        assert!(s.shown().is_none() && s.pending(), "\"Reading…\" rather than a flicker of \"not a digit\"");
        let s = run(s, [Action::Changed { settled: false, empty: false }]);
        let t2 = s.now;
        let s = run(s, [Action::LocalRead(t2, None, Some(prediction(None, 0, 0.5)))]);
        assert!(s.shown().is_none(), "an unsure draft is not shown while the pen moves");
        let s = run(s, [Action::Changed { settled: true, empty: false }]);
        let t3 = s.now;
        assert!(s.shown().is_none(), "the answer of an older revision is never shown");
        let s = run(s, [Action::LocalRead(t3, None, Some(prediction(None, 7, 0.97)))]);
        assert_eq!(s.shown().map(|r| r.prediction.digit), Some(7), "a sure digit is shown at once");
        // The server's stored reading wins over the page's.
        let s = run(
            s,
            [
                Action::Rested(t3),
                Action::StoreStarted(t3, Rc::new(vec![0; 784])),
                Action::Stored(t3, prediction(Some("a"), 1, 0.9)),
                Action::LocalRead(t3, None, Some(prediction(None, 7, 0.97))),
            ],
        );
        assert_eq!(s.shown().map(|r| (r.stored, r.prediction.digit)), Some((true, 1)));
    }

    #[test]
    fn offline_the_answer_given_waits_for_the_store_and_both_go_once_the_connection_is_back() {
        let s = run(Session::new(), [Action::ModelReady, Action::Changed { settled: true, empty: false }]);
        let t = s.now;
        let offline = Problem { message: "offline".into(), offline: true };
        let s = run(
            s,
            [
                Action::LocalRead(t, None, Some(prediction(None, 4, 0.6))),
                Action::Rested(t),
                Action::StoreStarted(t, Rc::new(vec![0; 784])),
                Action::StoreFailed(t, offline),
            ],
        );
        assert_eq!(s.shown().map(|r| r.prediction.digit), Some(4), "the rested drawing's own reading is shown");
        assert!(s.stored_reading().is_none());
        let s = run(s, [Action::Give(Answer::digit(4))]);
        assert_eq!(s.feedback, Feedback::Wanted(Answer::digit(4)), "the answer is kept");
        assert_eq!((s.next_store(), s.next_feedback()), (None, None), "nothing is sent while offline");
        // The connection is back: the store first, then the feedback, once each.
        let s = run(s, [Action::Retry]);
        assert_eq!(s.next_store(), Some((t, None)));
        assert_eq!(s.next_feedback(), None, "the feedback waits for the record");
        let s =
            run(s, [Action::StoreStarted(t, Rc::new(vec![0; 784])), Action::Stored(t, prediction(Some("a"), 4, 0.9))]);
        assert_eq!(s.next_store(), None, "stored once");
        assert_eq!(s.next_feedback(), Some((t, "a".into(), Answer::digit(4))));
    }

    #[test]
    fn an_undo_and_its_redo_come_back_to_the_stored_drawing_with_no_request() {
        let s = run(Session::new(), [Action::ModelReady, Action::Changed { settled: true, empty: false }]);
        let t = s.now;
        let images = Rc::new(vec![9; 784]);
        let s = run(
            s,
            [
                Action::LocalRead(t, Some(images.clone()), Some(prediction(None, 4, 0.9))),
                Action::Rested(t),
                Action::StoreStarted(t, images.clone()),
                Action::Stored(t, prediction(Some("a"), 4, 0.95)),
                // An undo: other images.
                Action::Changed { settled: true, empty: false },
            ],
        );
        let undone = s.now;
        let s = run(s, [Action::LocalRead(undone, Some(Rc::new(vec![1; 784])), Some(prediction(None, 1, 0.9)))]);
        assert!(s.stored_reading().is_none());
        // Its redo: the stored images again, before the pen rested.
        let s = run(s, [Action::Changed { settled: true, empty: false }]);
        let redone = s.now;
        let s = run(s, [Action::LocalRead(redone, Some(images), Some(prediction(None, 4, 0.9)))]);
        assert_eq!(s.stored_reading().map(|r| r.prediction.id.clone()), Some(Some("a".into())));
        let s = run(s, [Action::Rested(redone)]);
        assert_eq!(s.next_store(), None, "nothing to send: the record holds this drawing");
    }
}

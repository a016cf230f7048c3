//! Everything that touches the page's `Document`: the banner and dialogs, the gates for
//! scripts, iframes and images, and the submit interception of guarded forms.

pub mod gate;

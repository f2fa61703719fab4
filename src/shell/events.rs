//! The one way into the UI thread: adapters (device threads, back-end tasks) hand core events
//! to an [`EventSink`]; a task on Slint's own event loop receives them and feeds the session.
//! Nothing polls: an idle terminal sleeps until something happens.

use tokio::sync::mpsc;

use crate::core::Event;

/// A cloneable, `Send` handle that delivers core events to the UI thread.
#[derive(Clone)]
pub struct EventSink {
    queue: mpsc::UnboundedSender<Event>,
}

impl EventSink {
    /// A sink and the queue its events wait in until someone receives them.
    pub fn channel() -> (EventSink, mpsc::UnboundedReceiver<Event>) {
        let (queue, incoming) = mpsc::unbounded_channel();
        (EventSink { queue }, incoming)
    }

    /// Queues `event`; after the kiosk has shut down there is nobody to tell, and that is fine.
    pub fn send(&self, event: Event) {
        let _ = self.queue.send(event);
    }
}

/// Runs on the Slint event loop (the calling thread's): each event from `incoming`, in
/// order, goes to `deliver` as soon as the loop is woken by its arrival.
pub fn deliver_on_ui_thread(
    mut incoming: mpsc::UnboundedReceiver<Event>,
    mut deliver: impl FnMut(Event) + 'static,
) -> Result<(), slint::EventLoopError> {
    slint::spawn_local(async move {
        while let Some(event) = incoming.recv().await {
            deliver(event);
        }
    })
    .map(|_| ())
}

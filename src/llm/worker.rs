//! The model's own threads: questions go in on a short queue, sentences come out as the
//! stream delivers them, then a last word on how the request ended. A few requests run at
//! once, so one that hangs until its timeout does not hold up the questions behind it; a
//! full queue refuses the question at once (the room's limits drop it, counted).

use super::{ChatClient, Message, take_sentences};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

/// A request: `id` ties its replies to it.
#[derive(Debug, Clone)]
pub struct Ask {
    pub id: u64,
    pub messages: Vec<Message>,
    pub max_chars: usize,
}

/// What the worker says about a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A finished sentence of the answer, in order.
    Sentence { id: u64, text: String },
    /// The request is over: `Ok` with nothing more to say, or why it failed.
    Done { id: u64, result: Result<(), String> },
}

/// Questions waiting for a free request slot; more are refused. As many as the show
/// tracks (`runtime::room`), so a burst of questions in one frame all get their turn.
const QUEUE: usize = 8;
/// Requests to the model at once.
const AT_ONCE: usize = 3;
/// Characters that make a sentence worth a line of its own.
const MIN_SENTENCE: usize = 6;

pub struct Worker {
    asks: Sender<Ask>,
    pub replies: Receiver<Reply>,
}

impl Worker {
    pub fn spawn(client: ChatClient) -> Self {
        let (asks, questions) = bounded::<Ask>(QUEUE);
        let (tx, replies) = bounded::<Reply>(256);
        let client = std::sync::Arc::new(client);
        for n in 0..AT_ONCE {
            let (client, questions, tx) = (client.clone(), questions.clone(), tx.clone());
            let _ = std::thread::Builder::new()
                .name(format!("llm {n}"))
                .spawn(move || serve(&client, questions, tx));
        }
        Self { asks, replies }
    }

    /// Queues a request; false when the queue is full or the worker is gone.
    pub fn ask(&self, ask: Ask) -> bool {
        match self.asks.try_send(ask) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

fn serve(client: &ChatClient, questions: Receiver<Ask>, tx: Sender<Reply>) {
    for ask in questions.iter() {
        let id = ask.id;
        let mut buffer = String::new();
        let mut on_text = |piece: &str| {
            buffer.push_str(piece);
            for text in take_sentences(&mut buffer, MIN_SENTENCE) {
                let _ = tx.send(Reply::Sentence { id, text });
            }
        };
        let result = client.chat(&ask.messages, ask.max_chars, &mut on_text);
        let rest = buffer.trim().to_string();
        if result.is_ok() && !rest.is_empty() {
            let _ = tx.send(Reply::Sentence { id, text: rest });
        }
        let result = result.map(|_| ()).map_err(|e| e.to_string());
        if tx.send(Reply::Done { id, result }).is_err() {
            return;
        }
    }
}

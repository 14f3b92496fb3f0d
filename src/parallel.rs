//! Running independent per-file work on a fixed number of threads, with
//! results in input order (so nothing downstream depends on scheduling).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, TryLockError};

/// The default number of threads: all cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` applied to every item on up to `jobs` threads; results in item order.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = jobs.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

/// Like [`map`], but `f` takes each item by value.
pub fn map_owned<T: Send, R: Send>(
    items: Vec<T>,
    jobs: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    map(&slots, jobs, |slot| {
        f(slot
            .lock()
            .unwrap()
            .take()
            .expect("each item is taken once"))
    })
}

/// A value that worker threads add items to (with one function, `add`)
/// without waiting for each other: an item that finds the value busy
/// (another thread adding to it) is queued, and the thread holding the
/// value takes in the queue before it lets go; [`Gather::into_inner`]
/// takes in what is left. For values that do not depend on the order
/// items are added in.
pub struct Gather<S, T, F> {
    value: Mutex<S>,
    queue: Mutex<Vec<T>>,
    add: F,
}

impl<S, T, F: Fn(&mut S, T)> Gather<S, T, F> {
    pub fn new(value: S, add: F) -> Self {
        Gather {
            value: Mutex::new(value),
            queue: Mutex::new(Vec::new()),
            add,
        }
    }

    /// Adds `item`, now if the value is free, else later.
    pub fn add(&self, item: T) {
        let add = &self.add;
        let mut value = match self.value.try_lock() {
            Ok(v) => v,
            Err(TryLockError::WouldBlock) => {
                self.queue.lock().unwrap().push(item);
                return;
            }
            Err(TryLockError::Poisoned(e)) => panic!("a thread panicked while adding: {e}"),
        };
        add(&mut value, item);
        loop {
            let queued = std::mem::take(&mut *self.queue.lock().unwrap());
            if queued.is_empty() {
                break;
            }
            for t in queued {
                add(&mut value, t);
            }
        }
    }

    /// The value with every item added.
    pub fn into_inner(self) -> S {
        let mut value = self.value.into_inner().unwrap();
        for t in self.queue.into_inner().unwrap() {
            (self.add)(&mut value, t);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    #[test]
    fn order_is_kept_for_any_thread_count() {
        let items: Vec<u32> = (0..1000).collect();
        for jobs in [1, 2, 7, 64] {
            assert_eq!(
                super::map(&items, jobs, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
            assert_eq!(
                super::map_owned(items.clone(), jobs, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
    }

    /// Every item is added once, however the threads meet.
    #[test]
    fn gather_adds_every_item_once() {
        for jobs in [1, 2, 8] {
            let add = |v: &mut Vec<u32>, x: u32| {
                // Long enough for other threads to find the value busy.
                std::hint::black_box((0..200).sum::<u32>());
                v.push(x);
            };
            let gather = super::Gather::new(Vec::new(), add);
            super::map(&(0..5000).collect::<Vec<u32>>(), jobs, |&x| gather.add(x));
            let mut all = gather.into_inner();
            all.sort_unstable();
            assert_eq!(all, (0..5000).collect::<Vec<_>>(), "{jobs} jobs");
        }
    }

    /// An item that finds the value busy is queued, and taken in by the
    /// thread adding to the value before that thread lets go of it, or
    /// at the end.
    #[test]
    fn an_item_queued_while_the_value_is_busy_is_taken_in_by_the_holder() {
        let (inside, is_inside) = std::sync::mpsc::channel();
        let (go, may_go) = std::sync::mpsc::channel();
        let may_go = Mutex::new(may_go);
        // Adding 1 holds the value until the test says go.
        let gather = super::Gather::new(Vec::new(), |v: &mut Vec<u32>, x| {
            if x == 1 {
                inside.send(()).unwrap();
                may_go.lock().unwrap().recv().unwrap();
            }
            v.push(x);
        });
        std::thread::scope(|s| {
            s.spawn(|| gather.add(1));
            is_inside.recv().unwrap();
            // The value is busy: 2 is queued, not added.
            gather.add(2);
            assert_eq!(*gather.queue.lock().unwrap(), [2]);
            go.send(()).unwrap();
        });
        assert!(gather.queue.lock().unwrap().is_empty());
        assert_eq!(*gather.value.lock().unwrap(), [1, 2]);
        // One queued as the holder let go is taken in at the end.
        gather.queue.lock().unwrap().push(3);
        assert_eq!(gather.into_inner(), [1, 2, 3]);
    }
}

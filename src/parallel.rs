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
    map_with(items, jobs, || (), |(), item| f(item)).0
}

/// Like [`map`], but each thread also adds to a value of its own, made by
/// `init` when the thread starts: with the results, the threads' values
/// (one per thread, in no particular order), for the caller to merge. For
/// values that do not depend on how the items fell to the threads.
///
/// A value shared by the threads ([`Gather`]) makes them wait for each
/// other, and memory that one thread allocated and another grows or frees
/// makes them contend for the allocator's locks: fed every module's
/// summary, a shared value made `rename`'s first pass over the set 15%
/// slower on two threads (a median of 25.4 ms against 22.1 ms on 800
/// modules). Values of their own cost the threads memory for what their
/// items have in common, once per thread: little for the summaries (a
/// list of modules per suffix), more for a set of names that most files
/// share, which is better gathered once.
pub fn map_with<T: Sync, S: Send, R: Send>(
    items: &[T],
    jobs: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> (Vec<R>, Vec<S>) {
    let threads = jobs.clamp(1, items.len().max(1));
    if threads == 1 {
        let mut value = init();
        let results = items.iter().map(|item| f(&mut value, item)).collect();
        return (results, vec![value]);
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let values = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut value = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let r = f(&mut value, item);
                        results.lock().unwrap()[i] = Some(r);
                    }
                    value
                })
            })
            .collect();
        (workers.into_iter())
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let results = (results.into_inner().unwrap().into_iter())
        .map(|r| r.expect("every item was processed"))
        .collect();
    (results, values)
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
/// items are added in, and that are better held once than once per
/// thread (see [`map_with`]).
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

    /// Every item is added to one thread's value, once, and there is a
    /// value per thread that ran.
    #[test]
    fn each_item_is_added_to_one_value_once() {
        let items: Vec<u32> = (0..5000).collect();
        for jobs in [1, 2, 8] {
            let (results, values) =
                super::map_with(&items, jobs, Vec::new, |v: &mut Vec<u32>, &x| {
                    v.push(x);
                    x + 1
                });
            assert_eq!(results, (1..=5000).collect::<Vec<_>>(), "{jobs} jobs");
            assert_eq!(values.len(), jobs, "{jobs} jobs");
            let mut all: Vec<u32> = values.concat();
            all.sort_unstable();
            assert_eq!(all, items, "{jobs} jobs");
        }
    }

    /// Fewer items than jobs: a thread per item at most, and one value
    /// even with no items.
    #[test]
    fn no_more_threads_than_items() {
        let (results, values) = super::map_with(
            &[7u8, 8],
            8,
            || 0,
            |n: &mut u8, &x| {
                *n += 1;
                x
            },
        );
        assert_eq!(results, [7, 8]);
        assert_eq!(values.len(), 2);
        let (results, values) = super::map_with(&[] as &[u8], 8, || 0u8, |_, &x| x);
        assert!(results.is_empty());
        assert_eq!(values, [0]);
    }

    /// A panic on a worker thread reaches the caller as that panic.
    #[test]
    #[should_panic(expected = "item 3")]
    fn a_worker_panic_is_passed_on() {
        super::map(&(0..10).collect::<Vec<u32>>(), 2, |&x| {
            assert!(x != 3, "item 3");
        });
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

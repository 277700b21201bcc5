//! The memory meter: the process's global allocator is the system's, and it counts, per
//! thread, the bytes that thread has allocated and not freed. A run or a check reads its
//! own thread's count to keep its memory budget (`memory_max`), checked where the work
//! happens, so that running out is a reported budget stop instead of an abort.
//!
//! Why per thread: a sweep runs seeds on several threads at once, and one run must stop at
//! the same step however busy the others are. The count is of the sizes asked for (not of
//! pages the system maps), so for one build of Ripple it is the same on every machine: a
//! run stopped by its memory budget stops at the same step everywhere.
//!
//! What a run keeps only for its output (the records of a report, the trace text) is
//! allocated inside [`unmetered`] and not counted, so that the output options never change
//! where a run stops.
//!
//! Bytes freed on another thread than the one that allocated them lower the freeing
//! thread's count; the counts are meters for budgets, not an account of ownership.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, metered.
pub struct Metered;

#[global_allocator]
static GLOBAL: Metered = Metered;

thread_local! {
    /// Bytes this thread holds (signed: it may free what others allocated).
    static HELD: Cell<i64> = const { Cell::new(0) };
    /// Inside [`unmetered`]: allocations are not counted.
    static PAUSED: Cell<u32> = const { Cell::new(0) };
}

#[inline]
fn note(delta: i64) {
    // `try_with`: a thread being torn down frees memory after its locals are gone.
    let _ = PAUSED.try_with(|paused| {
        if paused.get() == 0 {
            let _ = HELD.try_with(|held| held.set(held.get() + delta));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// caller's obligations are `System`'s; the bookkeeping around the calls touches only
// const-initialized thread locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Metered {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Bytes this thread has allocated and not freed, as counted so far (allocations inside
/// [`unmetered`] left out). Compare two readings to meter a piece of work.
pub fn thread_held() -> i64 {
    HELD.with(Cell::get)
}

/// Runs `f` with its allocations (and the frees of them, when they happen inside an
/// `unmetered` call too) left out of this thread's count.
pub fn unmetered<T>(f: impl FnOnce() -> T) -> T {
    struct Resume;
    impl Drop for Resume {
        fn drop(&mut self) {
            PAUSED.with(|p| p.set(p.get() - 1));
        }
    }
    PAUSED.with(|p| p.set(p.get() + 1));
    let _resume = Resume;
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_counts_what_it_holds_and_not_what_it_keeps_unmetered() {
        // On a fresh thread: the test harness allocates on its own threads meanwhile.
        std::thread::spawn(|| {
            let before = thread_held();
            let held: Vec<u8> = Vec::with_capacity(1 << 20);
            let during = thread_held();
            assert_eq!(during - before, 1 << 20);
            let kept: Vec<u8> = unmetered(|| Vec::with_capacity(1 << 20));
            assert_eq!(
                thread_held(),
                during,
                "unmetered allocations are not counted"
            );
            unmetered(|| drop(kept));
            // Empty, so room for 3 MiB more is a capacity of 3 MiB: 2 MiB of growth.
            let mut grown = held;
            grown.reserve_exact(3 << 20);
            assert_eq!(
                thread_held() - before,
                3 << 20,
                "a realloc counts its growth"
            );
            drop(grown);
            assert_eq!(thread_held(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn another_thread_does_not_move_this_threads_count() {
        let before = thread_held();
        std::thread::spawn(|| {
            let v: Vec<u8> = vec![1; 5 << 20];
            std::hint::black_box(&v);
        })
        .join()
        .unwrap();
        let after = thread_held();
        // The spawn's own bookkeeping is small; the other thread's 5 MiB is not here.
        assert!((after - before).abs() < 64 << 10, "{}", after - before);
    }
}

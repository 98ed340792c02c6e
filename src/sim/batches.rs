//! A producer's batches by id. Ids are handed out in order and batches mostly complete in
//! order, so they live in a window of slots from the oldest live id (an index, not a search
//! tree walked on every `send()`); equality and hashing see only the live batches, as a map's
//! would.

use super::world::Batch;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// An iterator over the live slots (a named type, not `impl Iterator`, so that a borrow of
/// it ends where its last use is).
pub type Iter<'a, T> = std::iter::Map<
    std::iter::Flatten<std::collections::vec_deque::Iter<'a, Option<(u32, Batch)>>>,
    fn(&'a (u32, Batch)) -> T,
>;

#[derive(Debug, Clone, Default)]
pub struct Batches {
    /// The id of `slots[0]`.
    base: u32,
    /// Ids `base..base + slots.len()`; neither end is empty.
    slots: VecDeque<Option<(u32, Batch)>>,
    live: usize,
}

impl Batches {
    pub fn get(&self, id: &u32) -> Option<&Batch> {
        let i = id.checked_sub(self.base)? as usize;
        self.slots.get(i)?.as_ref().map(|(_, b)| b)
    }

    pub fn get_mut(&mut self, id: &u32) -> Option<&mut Batch> {
        let i = id.checked_sub(self.base)? as usize;
        self.slots.get_mut(i)?.as_mut().map(|(_, b)| b)
    }

    /// Adds batch `id`, returning the one it replaces.
    pub fn insert(&mut self, id: u32, batch: Batch) -> Option<Batch> {
        if self.slots.is_empty() {
            self.base = id;
        }
        while id < self.base {
            self.slots.push_front(None);
            self.base -= 1;
        }
        let i = (id - self.base) as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        let old = self.slots[i].replace((id, batch)).map(|(_, b)| b);
        if old.is_none() {
            self.live += 1;
        }
        old
    }

    pub fn remove(&mut self, id: &u32) -> Option<Batch> {
        let i = id.checked_sub(self.base)? as usize;
        let (_, batch) = self.slots.get_mut(i)?.take()?;
        self.live -= 1;
        while self.slots.front().is_some_and(Option::is_none) {
            self.slots.pop_front();
            self.base += 1;
        }
        while self.slots.back().is_some_and(Option::is_none) {
            self.slots.pop_back();
        }
        Some(batch)
    }

    /// The live batches in id order.
    pub fn iter(&self) -> Iter<'_, (&u32, &Batch)> {
        self.slots.iter().flatten().map(|(id, b)| (id, b))
    }

    pub fn values(&self) -> Iter<'_, &Batch> {
        self.slots.iter().flatten().map(|(_, b)| b)
    }

    /// The oldest live batch.
    pub fn first(&self) -> Option<(u32, &Batch)> {
        self.slots.front().and_then(Option::as_ref).map(|(id, b)| (*id, b))
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.live = 0;
    }
}

impl std::ops::Index<&u32> for Batches {
    type Output = Batch;

    fn index(&self, id: &u32) -> &Batch {
        self.get(id).unwrap_or_else(|| panic!("no batch {id}"))
    }
}

impl PartialEq for Batches {
    fn eq(&self, other: &Self) -> bool {
        self.live == other.live && self.iter().eq(other.iter())
    }
}

impl Eq for Batches {}

impl Hash for Batches {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // As a BTreeMap<u32, Batch> hashes: its length, then each entry.
        self.live.hash(h);
        self.iter().for_each(|e| e.hash(h));
    }
}

#[cfg(test)]
mod tests {
    use super::Batches;
    use crate::sim::world::Batch;

    fn batch(partition: u32) -> Batch {
        Batch {
            partition,
            msgs: vec![partition],
            bytes: 1,
            base_sequence: -1,
            epoch: 0,
            attempts: 0,
            created_at: 0,
            retry_at: 0,
            last_error: None,
            expiry_seq: Default::default(),
        }
    }

    #[test]
    fn behaves_as_a_map_by_id() {
        let mut b = Batches::default();
        let mut map = std::collections::BTreeMap::new();
        // Ids out of order, gaps, removal from both ends and the middle, re-insertion.
        for (op, id) in
            [(1, 5), (1, 6), (1, 9), (1, 3), (0, 5), (0, 9), (1, 12), (0, 3), (0, 6), (1, 2), (0, 12), (0, 2), (1, 7)]
        {
            if op == 1 {
                assert_eq!(b.insert(id, batch(id)), map.insert(id, batch(id)));
            } else {
                assert_eq!(b.remove(&id), map.remove(&id));
            }
            assert_eq!(b.len(), map.len());
            assert!(b.iter().eq(map.iter()), "after {op} {id}");
            for k in 0..14 {
                assert_eq!(b.get(&k), map.get(&k));
            }
        }
        assert_eq!(b.remove(&40), None);
        let mut other = Batches::default();
        other.insert(7, batch(7));
        assert_eq!(b, other, "equal whatever the window's history");
        let hash = |x: &Batches| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&b), hash(&other));
    }
}

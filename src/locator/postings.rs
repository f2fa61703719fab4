//! Posting lists in one allocation: every list's point indexes one after another in `items`,
//! list `k` being `items[offsets[k]..offsets[k + 1]]`. Exactly sized, with no per-list
//! header or growth slack (46,656 trigram lists as `Vec`s cost 1.1 MB of empty headers each
//! table, and their doubling another ~2 MB).

/// Collects (list, point) pairs, in point order, then lays them out.
pub(crate) struct PostingsBuilder {
    lists: usize,
    pairs: Vec<(u32, u32)>,
}

impl PostingsBuilder {
    pub(crate) fn new(lists: usize) -> PostingsBuilder {
        PostingsBuilder {
            lists,
            pairs: Vec::new(),
        }
    }

    /// Adds `point` to list `list` (ignored when `list` is out of range). Points must come
    /// in ascending order for the lists to be sorted.
    pub(crate) fn push(&mut self, list: usize, point: u32) {
        if let Ok(list) = u32::try_from(list) {
            if (list as usize) < self.lists {
                self.pairs.push((list, point));
            }
        }
    }

    /// A counting sort by list: stable, so each list keeps the points' order.
    pub(crate) fn build(self) -> Postings {
        let mut offsets = vec![0u32; self.lists + 1];
        for &(list, _) in &self.pairs {
            offsets[list as usize + 1] += 1;
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut next = offsets.clone();
        let mut items = vec![0u32; self.pairs.len()];
        for (list, point) in self.pairs {
            let slot = &mut next[list as usize];
            items[*slot as usize] = point;
            *slot += 1;
        }
        Postings { offsets, items }
    }
}

pub(crate) struct Postings {
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Postings {
    /// List `k`; empty when `k` is out of range.
    pub(crate) fn list(&self, k: usize) -> &[u32] {
        match (self.offsets.get(k), self.offsets.get(k + 1)) {
            (Some(&start), Some(&end)) => &self.items[start as usize..end as usize],
            _ => &[],
        }
    }

    /// Bytes held (for the memory figures).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        (self.offsets.capacity() + self.items.capacity()) * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_their_points_in_order_and_take_no_slack() {
        let mut builder = PostingsBuilder::new(4);
        for (list, point) in [(2, 0), (0, 1), (2, 1), (3, 2), (2, 5), (9, 6)] {
            builder.push(list, point);
        }
        let postings = builder.build();
        assert_eq!(postings.list(0), &[1]);
        assert!(postings.list(1).is_empty());
        assert_eq!(postings.list(2), &[0, 1, 5]);
        assert_eq!(postings.list(3), &[2]);
        // Out of range: pushed nowhere, read as empty.
        assert!(postings.list(9).is_empty());
        assert_eq!(postings.bytes(), (5 + 5) * 4);
    }
}

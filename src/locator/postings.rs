//! Posting lists in one allocation: every list's point indexes one after another in `items`,
//! list `k` being `items[offsets[k]..offsets[k + 1]]`. Exactly sized, with no per-list
//! header or growth slack (46,656 trigram lists as `Vec`s cost 1.1 MB of empty headers each
//! table, and their doubling another ~2 MB).

pub(crate) struct Postings {
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Postings {
    /// The lists of `points` points, in two passes over each point's lists (`lists_of` puts
    /// them, in any order and with repeats, into the buffer it is given): the first counts
    /// every list's length, the second fills them. Nothing is held but the result — no
    /// (list, point) pairs, no growth slack — so building the finder's index peaks at the
    /// size of the index itself. Lists at or beyond `lists` are ignored.
    pub(crate) fn build(
        lists: usize,
        points: usize,
        mut lists_of: impl FnMut(usize, &mut Vec<usize>),
    ) -> Postings {
        let mut scratch = Vec::new();
        // A point is in each of its lists once.
        let mut lists_of = |point: usize, out: &mut Vec<usize>| {
            out.clear();
            lists_of(point, out);
            out.sort_unstable();
            out.dedup();
        };
        let mut offsets = vec![0u32; lists + 1];
        for point in 0..points {
            lists_of(point, &mut scratch);
            for &list in scratch.iter().filter(|&&list| list < lists) {
                offsets[list + 1] += 1;
            }
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut next = offsets[..lists].to_vec();
        let mut items = vec![0u32; offsets[lists] as usize];
        for point in 0..points {
            lists_of(point, &mut scratch);
            for &list in scratch.iter().filter(|&&list| list < lists) {
                items[next[list] as usize] = point as u32;
                next[list] += 1;
            }
        }
        Postings { offsets, items }
    }

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
        // Point 0 is in list 2; 1 in 0 and 2; 2 in 3; 5 in 2; 6 in 9 (out of range).
        let lists: [&[usize]; 7] = [&[2], &[0, 2], &[3], &[], &[], &[2], &[9]];
        let postings = Postings::build(4, lists.len(), |point, out| {
            out.extend_from_slice(lists[point])
        });
        assert_eq!(postings.list(0), &[1]);
        assert!(postings.list(1).is_empty());
        assert_eq!(postings.list(2), &[0, 1, 5]);
        assert_eq!(postings.list(3), &[2]);
        // Out of range: pushed nowhere, read as empty.
        assert!(postings.list(9).is_empty());
        assert_eq!(postings.bytes(), (5 + 5) * 4);
    }
}

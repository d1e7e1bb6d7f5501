//! A bounded TCP flow table keyed by (client address, client port, VIP port).
//!
//! Under a SYN flood every packet is a new flow, so the table is capped and evicts the oldest
//! flow first (FIFO: a flood's flows are all alike, and FIFO costs one deque push per flow
//! where LRU would cost a list update per packet). Evicted flows are folded into the totals
//! before they go, so counts stay exact; only per-flow detail is lost, and the eviction count
//! is reported.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast non-cryptographic hasher (the keys are addresses from a capture file; a hostile
/// file can at worst make lookups slower, never unbounded in memory).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64)
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        // murmur3's finaliser: spreads entropy into the high bits the hash table uses.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    /// IPv4 addresses are stored as IPv4-mapped IPv6.
    pub client: u128,
    pub client_port: u16,
    pub vip_port: u16,
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.client as u64);
        state.write_u64(
            (self.client >> 64) as u64 ^ ((self.client_port as u64) << 16 | self.vip_port as u64),
        );
    }
}

pub const NO_MAC: u16 = u16::MAX;

pub mod state {
    pub const ANSWERED: u8 = 1;
    pub const COMPLETED: u8 = 2;
    pub const RESET: u8 = 4;
    pub const REFUSED: u8 = 8;
}

/// What is kept per flow; small, because a flood fills the table.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub syn_packet: u64,
    pub syn_ts: f64,
    pub syn_seq: u32,
    /// Interned MAC indexes (NO_MAC when unknown).
    pub client_mac: u16,
    pub first_dst_mac: u16,
    /// Where a forwarding device re-sent the SYN (seen only when the capture port sees it).
    pub forwarded_to: u16,
    pub answer_mac: u16,
    pub synack_ts: f64,
    pub synack_fp: u16,
    pub syns: u16,
    pub state: u8,
}

impl Flow {
    pub fn new(syn_packet: u64, syn_ts: f64, syn_seq: u32, client_mac: u16, dst_mac: u16) -> Self {
        Flow {
            syn_packet,
            syn_ts,
            syn_seq,
            client_mac,
            first_dst_mac: dst_mac,
            forwarded_to: NO_MAC,
            answer_mac: NO_MAC,
            synack_ts: 0.0,
            synack_fp: u16::MAX,
            syns: 1,
            state: 0,
        }
    }
    pub fn has(&self, s: u8) -> bool {
        self.state & s != 0
    }
}

/// A fixed-capacity table: flows live in a ring (insertion order = eviction order), found
/// through an open-addressing index of (hash, slot) words with linear probing and
/// backward-shift deletion (no tombstones, so a flood's constant churn never slows lookups).
/// The index stays at most half full and is small enough to stay mostly in cache.
pub struct FlowTable {
    ring: Vec<(FlowKey, Flow)>,
    /// The hash of each ring slot's key.
    ring_hash: Vec<u32>,
    /// Next ring slot to fill (and, once full, the oldest flow).
    head: usize,
    full: bool,
    /// hi 32 bits: the key's hash; lo 32 bits: ring slot + 1 (0 = empty).
    index: Vec<u64>,
    mask: usize,
    max: usize,
    pub evicted: u64,
}

#[inline]
fn prefetch_ptr<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; the pointer comes from a live reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            p as *const T as *const i8,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline]
fn hash_key(k: &FlowKey) -> u32 {
    let mut h = FastHasher::default();
    k.hash(&mut h);
    h.finish() as u32
}

impl FlowTable {
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, u32::MAX as usize / 4);
        let size = (max * 2).next_power_of_two().max(16);
        FlowTable {
            ring: Vec::with_capacity(max.min(1 << 16)),
            ring_hash: Vec::with_capacity(max.min(1 << 16)),
            head: 0,
            full: false,
            index: vec![0; size],
            mask: size - 1,
            max,
            evicted: 0,
        }
    }

    fn find(&self, k: &FlowKey, h: u32) -> Option<usize> {
        let mut i = h as usize & self.mask;
        loop {
            let e = self.index[i];
            if e == 0 {
                return None;
            }
            if (e >> 32) as u32 == h {
                let slot = (e as u32 - 1) as usize;
                if self.ring[slot].0 == *k {
                    return Some(i);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Remove index entry at position `i`, shifting later entries of its run back.
    fn remove_at(&mut self, mut i: usize) {
        self.index[i] = 0;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let e = self.index[j];
            if e == 0 {
                return;
            }
            let ideal = (e >> 32) as usize & self.mask;
            let stays = if i <= j {
                i < ideal && ideal <= j
            } else {
                i < ideal || ideal <= j
            };
            if !stays {
                self.index[i] = e;
                self.index[j] = 0;
                i = j;
            }
        }
    }

    fn index_insert(&mut self, h: u32, slot: usize) {
        let mut i = h as usize & self.mask;
        while self.index[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.index[i] = ((h as u64) << 32) | (slot as u64 + 1);
    }

    /// Ask the CPU to fetch the index line `k` hashes to (a batch of packets is prefetched
    /// before it is processed, so the cache misses of a flood overlap instead of queueing).
    #[inline]
    pub fn prefetch(&self, k: &FlowKey) {
        let i = hash_key(k) as usize & self.mask;
        prefetch_ptr(&self.index[i]);
    }

    /// Prefetch the index line of the flow the `n`th new flow from now will evict.
    #[inline]
    pub fn prefetch_victim(&self, n: usize) {
        if self.full {
            let slot = (self.head + n) % self.max;
            // The hashes live in their own small array so this needs no ring access; the ring
            // slot itself is prefetched too (it is read when the flow is evicted).
            let i = self.ring_hash[slot] as usize & self.mask;
            prefetch_ptr(&self.index[i]);
            prefetch_ptr(&self.ring[slot]);
        }
    }

    pub fn get_mut(&mut self, k: &FlowKey) -> Option<&mut Flow> {
        let h = hash_key(k);
        let i = self.find(k, h)?;
        let slot = (self.index[i] as u32 - 1) as usize;
        Some(&mut self.ring[slot].1)
    }

    /// Insert a new flow; when full, the oldest flow is removed and handed to `on_evict`.
    /// Returns the flow it replaced or evicted, if any, for the caller to close.
    pub fn insert(&mut self, k: FlowKey, f: Flow) -> Option<(FlowKey, Flow)> {
        let h = hash_key(&k);
        if let Some(i) = self.find(&k, h) {
            // The same 4-tuple reused for a new connection: close out the old one in place.
            let slot = (self.index[i] as u32 - 1) as usize;
            let old = std::mem::replace(&mut self.ring[slot].1, f);
            return Some((k, old));
        }
        if !self.full {
            let slot = self.ring.len();
            self.ring.push((k, f));
            self.ring_hash.push(h);
            self.index_insert(h, slot);
            if self.ring.len() == self.max {
                self.full = true;
                self.head = 0;
            }
            return None;
        }
        let slot = self.head;
        let oh = self.ring_hash[slot];
        // Find the old entry by its slot number: no need to compare keys.
        let mut i = oh as usize & self.mask;
        let want = slot as u64 + 1;
        while self.index[i] & 0xffff_ffff != want {
            i = (i + 1) & self.mask;
        }
        self.remove_at(i);
        let old = std::mem::replace(&mut self.ring[slot], (k, f));
        self.ring_hash[slot] = h;
        self.index_insert(h, slot);
        self.head = (self.head + 1) % self.max;
        self.evicted += 1;
        Some(old)
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// All remaining flows, oldest first.
    pub fn drain(self, mut f: impl FnMut(&FlowKey, Flow)) {
        let n = self.ring.len();
        let start = if self.full { self.head } else { 0 };
        for k in 0..n {
            let (key, fl) = self.ring[(start + k) % n];
            f(&key, fl);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> FlowKey {
        FlowKey {
            client: i as u128,
            client_port: 1,
            vip_port: 80,
        }
    }

    #[test]
    fn bounded_and_evicts_oldest_first_with_count() {
        let mut t = FlowTable::new(3);
        let mut gone = Vec::new();
        for i in 0..5 {
            if let Some((k, _)) = t.insert(key(i), Flow::new(i as u64, 0.0, 0, 0, 0)) {
                gone.push(k.client)
            }
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.evicted, 2);
        assert_eq!(gone, vec![0, 1]);
        assert!(t.get_mut(&key(0)).is_none());
        assert_eq!(t.get_mut(&key(4)).unwrap().syn_packet, 4);
        let mut rest = Vec::new();
        t.drain(|k, _| rest.push(k.client));
        assert_eq!(rest, vec![2, 3, 4]);
    }

    #[test]
    fn reinserting_a_key_closes_the_old_flow_without_growing() {
        let mut t = FlowTable::new(10);
        assert!(t.insert(key(1), Flow::new(1, 0.0, 0, 0, 0)).is_none());
        let old = t.insert(key(1), Flow::new(2, 0.0, 0, 0, 0)).unwrap();
        assert_eq!((t.len(), old.1.syn_packet), (1, 1));
        assert_eq!(t.get_mut(&key(1)).unwrap().syn_packet, 2);
    }

    #[test]
    fn churn_keeps_every_live_flow_findable() {
        // Heavy eviction churn exercises backward-shift deletion across wrapped runs.
        let mut t = FlowTable::new(1000);
        let mut x: u64 = 12345;
        let mut live = std::collections::VecDeque::new();
        for n in 0..50_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = FlowKey {
                client: x as u128,
                client_port: (x >> 40) as u16,
                vip_port: 80,
            };
            t.insert(k, Flow::new(n, 0.0, 0, 0, 0));
            live.push_back((k, n));
            if live.len() > 1000 {
                live.pop_front();
            }
            if n % 997 == 0 {
                for (k, n) in &live {
                    assert_eq!(t.get_mut(k).map(|f| f.syn_packet), Some(*n));
                }
            }
        }
        assert_eq!(t.evicted, 49_000);
    }
}

//! Property: however the input stream is cut into reads, the events are the same.

use std::io::Read;

use heyplayer::audio::stdin::RawPcmSource;
use heyplayer::events::Event;
use heyplayer::pipeline::collect_events;
use proptest::prelude::*;

use crate::common::*;

/// A reader that hands out its bytes in reads of the given sizes (cycled).
struct Chunked {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    k: usize,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.k % self.sizes.len()];
        self.k += 1;
        let n = want.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Two real prompts with silence and noise around them, at 8 kHz.
fn input() -> Vec<u8> {
    let prompts = asterisk_prompts();
    let mut x = white(4000, 0.003, 9);
    for name in ["auth-thankyou", "vm-goodbye"] {
        let (_, path, _) = prompts.iter().find(|p| p.0 == name).unwrap();
        let (s, rate) = read_wav(path);
        assert_eq!(rate, 8000);
        x.extend(s);
        x.extend(white(6000, 0.003, 10));
    }
    to_s16le(&x)
}

fn events(data: &[u8], sizes: Vec<usize>) -> Vec<Event> {
    let reader = Chunked {
        data: data.to_vec(),
        pos: 0,
        sizes,
        k: 0,
    };
    let src = RawPcmSource::new(reader, "-", 8000, 1).unwrap();
    collect_events(src, &config()).unwrap()
}

#[test]
fn reference_input_has_speech() {
    let ev = events(&input(), vec![4096]);
    assert_eq!(segments(&ev).len(), 2, "{ev:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_same_events(sizes in prop::collection::vec(1usize..20_000, 1..12)) {
        let data = input();
        let reference = events(&data, vec![data.len()]);
        let got = events(&data, sizes);
        prop_assert_eq!(got, reference);
    }
}

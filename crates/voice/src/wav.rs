//! RIFF/WAVE, as far as voice guidance needs it: the header of 16-bit PCM from an installed
//! clip or from espeak-ng's stdout (which streams, so its sizes are placeholders), and the
//! header of the WAV files the file sink writes.

/// 16-bit signed little-endian PCM: how many samples a second and how many channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub sample_rate: u32,
    pub channels: u16,
}

impl Format {
    /// espeak-ng's output.
    pub const SPEECH: Format = Format {
        sample_rate: 22_050,
        channels: 1,
    };
}

/// Why bytes are not a WAV file voice guidance can play; says which field is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavError {
    #[error("not a RIFF/WAVE file (the first 12 bytes are not \"RIFF....WAVE\")")]
    NotWave,
    #[error("the header ends early, in the {0} chunk")]
    Truncated(&'static str),
    #[error("no \"fmt \" chunk before the \"data\" chunk")]
    NoFormat,
    #[error("format {format_tag} is not PCM (1): re-encode the clip as 16-bit PCM")]
    NotPcm { format_tag: u16 },
    #[error("{bits} bits per sample: only 16-bit clips are played")]
    Bits { bits: u16 },
    #[error("{channels} channels: only mono or stereo clips are played")]
    Channels { channels: u16 },
    #[error("sample rate {0} Hz is outside 8000–96000 Hz")]
    SampleRate(u32),
    #[error("no \"data\" chunk within the first {0} bytes")]
    NoData(usize),
}

/// A parsed header: the format, where the samples begin, and how many bytes of them the
/// header claims (`None` when it streams: espeak-ng's placeholder sizes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub data_offset: usize,
    pub data_len: Option<u32>,
}

/// How far into a file the data chunk may start (clips with large metadata chunks are
/// refused rather than read whole).
pub const MAX_HEADER: usize = 64 * 1024;

/// A size field that says "until the end of the stream".
fn streaming(size: u32) -> bool {
    size == 0 || size >= 0x7FFF_0000
}

/// Parses the header at the start of `bytes` (at least up to the data chunk's start).
pub fn parse_header(bytes: &[u8]) -> Result<Header, WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut at = 12usize;
    let mut format = None;
    loop {
        if at >= MAX_HEADER {
            return Err(WavError::NoData(MAX_HEADER));
        }
        let Some(chunk) = bytes.get(at..at + 8) else {
            return Err(WavError::Truncated("chunk header"));
        };
        let id = [chunk[0], chunk[1], chunk[2], chunk[3]];
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        let body = at + 8;
        match &id {
            b"fmt " => {
                let Some(fmt) = bytes.get(body..body + 16) else {
                    return Err(WavError::Truncated("fmt "));
                };
                let field = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
                let format_tag = field(0);
                let channels = field(2);
                let sample_rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
                let bits = field(14);
                // WAVE_FORMAT_EXTENSIBLE carries PCM in its sub-format; accept it as PCM.
                if format_tag != 1 && format_tag != 0xFFFE {
                    return Err(WavError::NotPcm { format_tag });
                }
                if bits != 16 {
                    return Err(WavError::Bits { bits });
                }
                if channels == 0 || channels > 2 {
                    return Err(WavError::Channels { channels });
                }
                if !(8_000..=96_000).contains(&sample_rate) {
                    return Err(WavError::SampleRate(sample_rate));
                }
                format = Some(Format {
                    sample_rate,
                    channels,
                });
            }
            b"data" => {
                let format = format.ok_or(WavError::NoFormat)?;
                return Ok(Header {
                    format,
                    data_offset: body,
                    data_len: (!streaming(size)).then_some(size),
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        let skip = (size as usize).saturating_add(size as usize & 1);
        at = body.saturating_add(skip);
    }
}

/// A canonical 44-byte header for `samples` samples (all channels) of `format`.
pub fn header(format: Format, samples: usize) -> [u8; 44] {
    let data = (samples * 2).min(u32::MAX as usize - 36) as u32;
    let block = format.channels * 2;
    let mut out = [0u8; 44];
    out[0..4].copy_from_slice(b"RIFF");
    out[4..8].copy_from_slice(&(36 + data).to_le_bytes());
    out[8..12].copy_from_slice(b"WAVE");
    out[12..16].copy_from_slice(b"fmt ");
    out[16..20].copy_from_slice(&16u32.to_le_bytes());
    out[20..22].copy_from_slice(&1u16.to_le_bytes());
    out[22..24].copy_from_slice(&format.channels.to_le_bytes());
    out[24..28].copy_from_slice(&format.sample_rate.to_le_bytes());
    out[28..32].copy_from_slice(&(format.sample_rate * u32::from(block)).to_le_bytes());
    out[32..34].copy_from_slice(&block.to_le_bytes());
    out[34..36].copy_from_slice(&16u16.to_le_bytes());
    out[36..40].copy_from_slice(b"data");
    out[40..44].copy_from_slice(&data.to_le_bytes());
    out
}

/// Little-endian sample bytes to samples (an odd last byte is dropped).
pub fn samples(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_header_parses_back() {
        let format = Format {
            sample_rate: 16_000,
            channels: 2,
        };
        let bytes = header(format, 1000);
        assert_eq!(
            parse_header(&bytes),
            Ok(Header {
                format,
                data_offset: 44,
                data_len: Some(2000)
            })
        );
    }

    #[test]
    fn espeak_placeholder_sizes_mean_streaming() {
        let mut bytes = header(Format::SPEECH, 0).to_vec();
        bytes[40..44].copy_from_slice(&0x7FFF_F000u32.to_le_bytes());
        assert_eq!(parse_header(&bytes).map(|h| h.data_len), Ok(None));
    }

    #[test]
    fn other_chunks_are_skipped_and_wrong_fields_named() {
        let mut bytes = b"RIFF\0\0\0\0WAVELIST\x03\0\0\0abc\0".to_vec();
        bytes.extend_from_slice(&header(Format::SPEECH, 4)[12..]);
        assert_eq!(parse_header(&bytes).map(|h| h.data_offset), Ok(56));
        let mut eight_bit = header(Format::SPEECH, 4);
        eight_bit[34] = 8;
        assert_eq!(parse_header(&eight_bit), Err(WavError::Bits { bits: 8 }));
        let mut float = header(Format::SPEECH, 4);
        float[20] = 3;
        assert_eq!(
            parse_header(&float),
            Err(WavError::NotPcm { format_tag: 3 })
        );
        assert_eq!(parse_header(b"RIFX"), Err(WavError::NotWave));
        assert_eq!(
            parse_header(&header(Format::SPEECH, 4)[..30]),
            Err(WavError::Truncated("fmt "))
        );
    }
}

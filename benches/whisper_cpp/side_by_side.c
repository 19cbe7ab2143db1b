// whisper.cpp on its own, for a side-by-side with heyplayer's ASR stage.
//
// The vendored whisper.cpp in whisper-rs-sys ships the library but not the
// `whisper-cli` example, so this is a minimal CLI of ours, linked against the
// very static libraries whisper-rs built (target/release/build/whisper-rs-sys-*/
// out/lib). It decodes each 16 kHz mono 16-bit WAV with the parameters
// heyplayer uses (greedy, no timestamps, single segment, no context, the
// command prompt, the audio context trimmed to the clip, clips padded to
// 1.1 s) and prints one line per file: milliseconds in whisper_full and text.
//
//   side_by_side MODEL THREADS PROMPT FILE.wav...
//
// Run by benches/whisper_cpp/run.sh (`make bench-asr`).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "whisper.h"

#define SAMPLE_RATE 16000
#define PAD_TO (SAMPLE_RATE + SAMPLE_RATE / 10)
#define MIN_AUDIO_CTX 512
#define FULL_AUDIO_CTX 1500
#define AUDIO_CTX_MARGIN 64
#define MAX_TOKENS_PER_S 8
#define MIN_MAX_TOKENS 16

static float *read_wav(const char *path, int *n_out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    unsigned char hdr[12];
    if (fread(hdr, 1, 12, f) != 12 || memcmp(hdr, "RIFF", 4) || memcmp(hdr + 8, "WAVE", 4)) {
        fprintf(stderr, "%s: not a WAV file\n", path);
        fclose(f);
        return NULL;
    }
    int channels = 0, rate = 0, bits = 0;
    for (;;) {
        unsigned char ch[8];
        if (fread(ch, 1, 8, f) != 8) {
            fprintf(stderr, "%s: no data chunk\n", path);
            fclose(f);
            return NULL;
        }
        uint32_t size = ch[4] | ch[5] << 8 | ch[6] << 16 | (uint32_t)ch[7] << 24;
        if (!memcmp(ch, "fmt ", 4)) {
            unsigned char fmt[16];
            if (size < 16 || fread(fmt, 1, 16, f) != 16) {
                fclose(f);
                return NULL;
            }
            channels = fmt[2] | fmt[3] << 8;
            rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16 | fmt[7] << 24;
            bits = fmt[14] | fmt[15] << 8;
            fseek(f, size - 16 + (size & 1), SEEK_CUR);
        } else if (!memcmp(ch, "data", 4)) {
            if (channels != 1 || rate != SAMPLE_RATE || bits != 16) {
                fprintf(stderr, "%s: need 16 kHz mono 16-bit (got %d Hz, %d ch, %d bit)\n", path,
                        rate, channels, bits);
                fclose(f);
                return NULL;
            }
            int n = size / 2;
            int16_t *pcm = malloc(size);
            if (!pcm || fread(pcm, 2, n, f) != (size_t)n) {
                free(pcm);
                fclose(f);
                return NULL;
            }
            int len = n < PAD_TO ? PAD_TO : n;
            float *out = calloc(len, sizeof(float));
            for (int i = 0; i < n; i++) out[i] = pcm[i] / 32768.0f;
            free(pcm);
            fclose(f);
            *n_out = len;
            return out;
        } else {
            fseek(f, size + (size & 1), SEEK_CUR);
        }
    }
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void quiet(enum ggml_log_level level, const char *text, void *data) {
    (void)level;
    (void)text;
    (void)data;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL THREADS PROMPT FILE.wav...\n", argv[0]);
        return 2;
    }
    whisper_log_set(quiet, NULL);
    struct whisper_context_params cp = whisper_context_default_params();
    cp.use_gpu = 0;
    struct whisper_context *ctx = whisper_init_from_file_with_params(argv[1], cp);
    if (!ctx) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    struct whisper_state *state = whisper_init_state(ctx);
    int threads = atoi(argv[2]);
    for (int i = 4; i < argc; i++) {
        int n = 0;
        float *pcm = read_wav(argv[i], &n);
        if (!pcm) return 1;
        struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
        p.n_threads = threads;
        p.language = "en";
        p.translate = 0;
        p.no_context = 1;
        p.no_timestamps = 1;
        p.single_segment = 1;
        p.print_special = 0;
        p.print_progress = 0;
        p.print_realtime = 0;
        p.print_timestamps = 0;
        p.suppress_blank = 1;
        p.temperature = 0.0f;
        p.temperature_inc = 0.0f;
        p.greedy.best_of = 1;
        int max_tokens = n * MAX_TOKENS_PER_S / SAMPLE_RATE;
        p.max_tokens = max_tokens < MIN_MAX_TOKENS ? MIN_MAX_TOKENS : max_tokens;
        int ctx_frames = (n + 319) / 320 + AUDIO_CTX_MARGIN;
        p.audio_ctx = ctx_frames < MIN_AUDIO_CTX    ? MIN_AUDIO_CTX
                      : ctx_frames > FULL_AUDIO_CTX ? FULL_AUDIO_CTX
                                                    : ctx_frames;
        if (argv[3][0]) p.initial_prompt = argv[3];
        double t0 = now_ms();
        if (whisper_full_with_state(ctx, state, p, pcm, n) != 0) {
            fprintf(stderr, "%s: whisper_full failed\n", argv[i]);
            return 1;
        }
        double ms = now_ms() - t0;
        printf("%s\t%.1f\t", argv[i], ms);
        for (int s = 0; s < whisper_full_n_segments_from_state(state); s++)
            printf("%s", whisper_full_get_segment_text_from_state(state, s));
        printf("\n");
        fflush(stdout);
        free(pcm);
    }
    whisper_free_state(state);
    whisper_free(ctx);
    return 0;
}

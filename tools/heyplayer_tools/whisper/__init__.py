"""Whisper: the CTranslate2 -> whisper.cpp ggml converter (`make models` runs it
through heyplayer_tools.fetch) and the WER scorer of tools/whisper_verify/."""

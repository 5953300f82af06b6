"""rnnkit compose: learn Bach's chorales as piano rolls with any rnnkit network, score it, and
write what it composes as MIDI, MusicXML, an engraved score (SVG), a piano-roll picture and (with
fluidsynth) a WAV.
Also turns ABC text (a folk tune from a char-LM trained with ``--corpus folk``) into MIDI."""

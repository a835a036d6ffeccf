"""Text-encoder fine-tuning: ``mmfa finetune-text``, a Lightning stage before ``mmfa fit``.

The paper's text features come from an encoder that never saw an emotion label. Fine-tuning it
on the corpus's train split first (COSMIC and DialogueRNN do the same with RoBERTa), then using it
frozen as the text front-end, is a cheap, standard way past that:

1. ``mmfa finetune-text --config CORPUS.yaml --config configs/recipe/finetune_text.yaml
   --out FOLDER`` trains the config's text encoder (``data.text.init_args.model``) with a small
   head (mean of the utterance's word pieces -> dropout -> linear) on the config's train split,
   keeps the epoch with the best validation weighted F1, and saves that encoder and its
   tokenizer as a model folder (:mod:`mmfa.finetune.command`).
2. ``mmfa fit --config CORPUS.yaml --data.text.init_args.model FOLDER`` uses it, frozen, like
   any other encoder.

:mod:`~mmfa.finetune.data` reads the splits of any mmfa datamodule and tokenises them as the
text front-end does; :mod:`~mmfa.finetune.module` is the LightningModule. The test split is
never read.
"""

#: Written last into the output folder: its presence means the folder is complete.
DONE_FILE = "mmfa_finetune.json"

"""Visual question answering: the offline ``shapes`` world and real VQA datasets (``vqa``)."""

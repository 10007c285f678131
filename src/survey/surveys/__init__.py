"""The two surveys: questionnaires and their versions, invitation links, taking in answers, and the pages
employees and customers answer on."""

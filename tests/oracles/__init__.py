"""Reference implementations of every insight, written from ../shared/spec alone.

Small, slow and obviously correct: plain loops over plain data. The engines' SQL is compared
against these on random event logs (hypothesis). Never import engine code here.
"""

"""placeholder"""
from bench.report import SectionSkipped

NAME = "stream"
TITLE = "3. stream"
def run(ctx):
    raise SectionSkipped("not written yet")

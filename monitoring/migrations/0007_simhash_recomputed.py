"""Every stored post's SimHash computed again: the features are now hashed with
SplitMix64 instead of BLAKE2b, and a repost's own comment is left out. Hashes of the two
kinds cannot be compared, so near-duplicates of a new post among the stored ones would be
missed until all are of the new kind. The function is the application's, as it is at the
time the migration runs: a later change of it comes with a migration like this one."""

from django.db import migrations

CHUNK = 2000


def simhashes_recompute(apps, schema_editor):
    from monitoring.text.analysis import BANDS, simhash_bands, simhashes

    post_model = apps.get_model("monitoring", "Post")
    fields = ["simhash", *(f"simhash_band{band}" for band in range(BANDS))]
    last = 0
    while True:
        posts = list(post_model.objects.filter(pk__gt=last).order_by("pk")
                     .only("id", "text", *fields)[:CHUNK])
        if not posts:
            return
        for post, value in zip(posts, simhashes([post.text for post in posts]), strict=True):
            post.simhash = value
            bands = simhash_bands(value) if value is not None else (None,) * BANDS
            for band, band_value in enumerate(bands):
                setattr(post, f"simhash_band{band}", band_value)
        post_model.objects.bulk_update(posts, fields, batch_size=500)
        last = posts[-1].pk


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0006_post_content_hash_one_index")]

    operations = [migrations.RunPython(simhashes_recompute, migrations.RunPython.noop)]

